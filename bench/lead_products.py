"""A brief whose leads name catalogue products, judged for the customer, against the same brief
without product lookups.

python -m bench.lead_products [--products 3000] [--briefs 2000]

A customer with 5 leads, each naming 3 catalogue products, and a risk assessment; the hub's applied
catalogue as it keeps it (a dict of ProductFacts by code, built once per catalogue version). The
baseline is the same brief with the leads' product codes removed (what a brief cost before leads
named products), timed interleaved in the same run. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from typing import Any

from branch_hub.briefs import ProductFacts, RedactionPolicy, build_brief
from branch_hub.config import BranchConfig, parse_config
from sync.catalogue_synth import generate_catalogue

AS_OF = date(2026, 12, 3)


def _config() -> BranchConfig:
    import tomllib
    from importlib import resources

    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    return parse_config(tomllib.loads(raw))


def _record(codes: list[str], with_codes: bool) -> dict[str, Any]:
    leads = []
    for n in range(5):
        lead: dict[str, Any] = {
            "lead_id": f"L{n:011d}",
            "product": "稳健理财",
            "product_code": "wealth_fixed",
            "score": "high",
            "talking_points": ["到期自动续作", "起购金额低"],
            "expires": "2027-03-01",
        }
        if with_codes:
            lead["product_codes"] = codes[3 * n : 3 * n + 3]
        leads.append(lead)
    return {
        "customer_id": "C0000000001",
        "name": "王小明",
        "gender": "M",
        "tier": "wealth",
        "risk_assessment": {"level": "C3", "expires": "2027-06-30"},
        "leads": leads,
    }


def _pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(products: int, briefs: int) -> dict[str, Any]:
    """Time both briefs interleaved; return the figures."""
    catalogue = generate_catalogue(products, 0, seed=1, as_of=AS_OF)
    facts = {
        p.code: ProductFacts(p.code, p.name_zh, p.risk, p.valid_from, p.valid_to)
        for p in catalogue.products
    }
    codes = [p.code for p in catalogue.products[::7]][:15]
    config = _config()
    policy = RedactionPolicy.from_config(config)
    named, plain = _record(codes, True), _record(codes, False)
    timed: dict[bool, list[float]] = {True: [], False: []}
    for i in range(briefs * 2):
        with_codes = i % 2 == 0
        record, known = (named, facts) if with_codes else (plain, None)
        start = time.perf_counter()
        build_brief(record, role="wealth_manager", visit_id="v", today=AS_OF, branch=config,
                    policy=policy, catalogue=known)  # fmt: skip
        timed[with_codes].append((time.perf_counter() - start) * 1e6)
    return {
        "brief_us_p50": round(_pct(timed[True], 0.5), 1),
        "brief_us_p99": round(_pct(timed[True], 0.99), 1),
        "plain_brief_us_p50": round(_pct(timed[False], 0.5), 1),
        "ratio_vs_plain_p50": round(_pct(timed[True], 0.5) / _pct(timed[False], 0.5), 2),
        "products_in_catalogue": len(facts),
        "lead_products": 15,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the figures (last line JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--briefs", type=int, default=2000)
    args = parser.parse_args(argv)
    figures = run(args.products, args.briefs)
    for key, value in figures.items():
        print(f"{key:>24}: {value}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
