"""Leads that name catalogue products: each lead of the synthetic export gets 1-3 product codes.

HQ's catalogue source folder (`branch-sync catalogue synth --out`, its `products.jsonl`) is read
once; a lead's product line (large_cd, fund_sip, ...) maps to a catalogue category, and the codes
are drawn from that category's products on sale on the export's day, preferring those whose tiers
and segments admit the customer. A line without a catalogue category (mobile banking, gold,
payroll) names no products. Draws come from their own generator, so the rest of the export is
unchanged by the option.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from sync.errors import SyncError

__all__ = [
    "LINE_CATEGORIES",
    "CatalogueRef",
    "add_product_codes",
    "on_sale_by_category",
    "read_catalogue_refs",
]

# The export's product lines (sync.synth_tables.PRODUCTS) and the catalogue category each sells.
LINE_CATEGORIES: Mapping[str, str] = {
    "large_cd": "deposit",
    "wealth_fixed": "wealth",
    "fund_sip": "fund",
    "pension_acct": "pension",
    "credit_card": "card",
    "instalment": "loan",
    "mortgage": "loan",
    "insurance": "insurance",
    "fx": "forex",
}
MAX_CODES = 3


@dataclass(frozen=True)
class CatalogueRef:
    """What the synth needs of one catalogue product."""

    code: str
    category: str
    tiers: tuple[str, ...]
    segments: tuple[str, ...]
    valid_from: str
    valid_to: str


def _ref(item: Any) -> CatalogueRef:
    return CatalogueRef(
        str(item["code"]),
        str(item["category"]),
        tuple(str(t) for t in item.get("tiers") or ()),
        tuple(str(s) for s in item.get("segments") or ()),
        str(item["valid_from"]),
        str(item["valid_to"]),
    )


def read_catalogue_refs(folder: Path) -> tuple[CatalogueRef, ...]:
    """The products of a catalogue source folder (its products.jsonl), sorted by code."""
    path = folder / "products.jsonl"
    try:
        lines = path.read_bytes().splitlines()
        refs = [_ref(orjson.loads(line)) for line in lines if line.strip()]
    except OSError as exc:
        raise SyncError(f"{path}: cannot read the catalogue's products ({exc.strerror})") from None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise SyncError(f"{path}: not a catalogue source's products.jsonl") from None
    return tuple(sorted(refs, key=lambda r: r.code))


def _admits(ref: CatalogueRef, tier: str, segments: set[str]) -> bool:
    return tier in ref.tiers and (not ref.segments or bool(segments & set(ref.segments)))


def _pick(
    rng: random.Random, on_sale: Sequence[CatalogueRef], tier: str, segments: set[str]
) -> list[str]:
    preferred = [r.code for r in on_sale if _admits(r, tier, segments)]
    others = [r.code for r in on_sale if not _admits(r, tier, segments)]
    want = min(1 + int(rng.random() * MAX_CODES), len(on_sale))
    chosen = rng.sample(preferred, min(want, len(preferred)))
    if len(chosen) < want:
        chosen += rng.sample(others, want - len(chosen))
    return chosen


def on_sale_by_category(refs: Sequence[CatalogueRef], as_of: date) -> dict[str, list[CatalogueRef]]:
    """The products on sale on `as_of`, by category (in code order)."""
    day = as_of.isoformat()
    out: dict[str, list[CatalogueRef]] = {}
    for ref in refs:
        if ref.valid_from <= day <= ref.valid_to:
            out.setdefault(ref.category, []).append(ref)
    return out


def add_product_codes(
    rng: random.Random, customer: dict[str, Any], by_category: Mapping[str, list[CatalogueRef]]
) -> None:
    """Give each of the customer's leads whose line the catalogue sells 1-3 product codes."""
    tier, segments = str(customer.get("tier")), set(customer.get("segments") or ())
    for lead in customer.get("leads") or ():
        on_sale = by_category.get(LINE_CATEGORIES.get(lead.get("product_code"), ""), [])
        if on_sale:
            lead["product_codes"] = _pick(rng, on_sale, tier, segments)
