"""`./run demo` (`python -m branch_demo`): the simulated branch, or a summary of its HQ data."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from branch_common.identifiers import mask_name
from branch_hub.config import BranchConfig, ConfigError, load_config
from sync.synth import SynthOptions, TierThreshold, write_export_file

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for the demo."""
    parser = argparse.ArgumentParser(
        prog="./run demo",
        description="A complete simulated branch on this machine: HQ's synthetic customers "
        "published and pulled over HTTPS, the hub with a virtual chip-card reader on pcscd and "
        "pty ID reader, stripe reader and printer, the kiosk and two tablet windows (when a "
        "display is available), and HQ's collector; a prompt inserts virtual cards. --headless "
        "runs a scripted crowd instead; --summary only shows the synthetic data.",
    )
    parser.add_argument(
        "--customers", type=int, default=100_000, help="synthetic customers (default 100000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="output folder (default demo-out)"
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="branch TOML (default: the sample branch)"
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the whole simulated branch with a scripted crowd and write tickets, a summary "
        "and the figures into --out",
    )
    parser.add_argument(
        "--summary",
        action="store_true",
        help="only validate the branch TOML and show the synthetic HQ data (tier mix, masked "
        "samples)",
    )
    parser.add_argument(
        "--no-windows", action="store_true", help="no kiosk/tablet/display windows (prompt only)"
    )
    parser.add_argument(
        "--minutes", type=float, default=30.0, help="headless: simulated minutes (default 30)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the demo."""
    args = build_parser().parse_args(argv)
    # The hub and the other processes run in their own folders: paths the user gave relative to
    # where they typed the command must not be read relative to somewhere else.
    args.out = args.out.resolve()
    if args.config is not None:
        args.config = args.config.resolve()
    if not args.summary:
        from branch_demo.branch import run_branch

        return run_branch(args)
    config_path = args.config or Path(str(resources.files("branch_hub") / "sample_branch.toml"))
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"Branch {config.branch.id}: {config.branch.name_zh} / {config.branch.name_en}")
    print("Services: " + ", ".join(f"{s.prefix} {s.name_zh}" for s in config.services))
    print("Counters: " + ", ".join(f"{c.name_zh}({'/'.join(c.services)})" for c in config.counters))
    opts = SynthOptions(
        customers=args.customers,
        seed=args.seed,
        region_code=config.branch.region_code,
        as_of=date.today(),
        tiers=tuple(TierThreshold(t.code, t.min_aum_cny) for t in config.tiers),
    )
    export = args.out / "export.jsonl"
    started = time.perf_counter()
    n = write_export_file(opts, export)
    elapsed = time.perf_counter() - started
    print(f"\nHQ export: {n} synthetic customers in {elapsed:.1f} s -> {export}")
    _summarise(export, n, config)
    print(f"\nThe export holds synthetic people only; delete {args.out} when done.")
    return 0


def _summarise(export: Path, n: int, config: BranchConfig) -> None:
    """Print the tier mix, the out-of-town share and a few masked priority customers."""
    tiers: Counter[str] = Counter()
    out_of_town = 0
    samples: list[dict[str, Any]] = []
    with export.open(encoding="utf-8") as fh:
        for line in fh:
            customer = json.loads(line)
            tiers[customer["tier"]] += 1
            out_of_town += customer["region_code"][:2] != config.branch.region_code[:2]
            if customer["tier"] in {"wealth", "private"} and customer["leads"] and len(samples) < 3:
                samples.append(customer)
    names = {t.code: t.name_zh for t in config.tiers}
    print("\nTier mix:")
    for tier in config.tiers:
        share = tiers[tier.code] / max(n, 1)
        print(
            f"  {names[tier.code]:<8} {tiers[tier.code]:>8}  {share:6.1%}  {'#' * int(share * 60)}"
        )
    print(f"Out-of-town (other province by ID number): {out_of_town / max(n, 1):.1%}")
    print("\nWhat a lobby manager will see for a few priority customers (masked):")
    for c in samples:
        title = "先生" if c["gender"] == "M" else "女士"
        print(f"  {c['name'][0]}{title} ({mask_name(c['name'])}), {names[c['tier']]}")
        for lead in sorted(c["leads"], key=lambda x: ("high", "mid", "low").index(x["score"])):
            print(
                f"    [{lead['score']:>4}] {lead['product']}: {'；'.join(lead['talking_points'])}"
            )


if __name__ == "__main__":
    sys.exit(main())
