"""Synthetic card fields of the HQ export: AUM band, products held, benefits, risk, attrition.

Drawn from a generator of their own (one per block), so adding them left every older field
of the export unchanged for a seed.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any

__all__ = ["ATTRITION_REASONS", "BENEFITS_BY_RANK", "aum_band_label", "card_fields"]

# (code, lowest tier rank holding it, chance) per category; HQ's product codes, prefixed by
# category so they never read like a lead's product code.
_PRODUCTS: dict[str, tuple[tuple[str, int, float], ...]] = {
    "deposits": (("dep_demand", 0, 1.0), ("dep_time", 0, 0.4), ("dep_large_cd", 2, 0.5)),
    "wealth_management": (("wm_fixed_income", 1, 0.35), ("wm_balanced", 2, 0.5)),
    "funds": (("fund_money_market", 0, 0.15), ("fund_equity_sip", 1, 0.3), ("fund_bond", 2, 0.4)),
    "insurance": (("ins_critical_illness", 1, 0.2), ("ins_annuity", 2, 0.3)),
    "loans": (("loan_mortgage", 0, 0.12), ("loan_consumer", 0, 0.06)),
    "cards": (),  # filled from the customer's cards
}
BENEFITS_BY_RANK: tuple[tuple[str, ...], ...] = (
    ("free_mobile_transfer",),
    ("free_mobile_transfer", "fee_waiver_card_annual", "priority_queue"),
    (
        "free_mobile_transfer",
        "fee_waiver_card_annual",
        "fee_waiver_transfer",
        "priority_queue",
        "airport_lounge",
        "health_checkup",
    ),
    (
        "free_mobile_transfer",
        "fee_waiver_card_annual",
        "fee_waiver_transfer",
        "fee_waiver_cash_other_bank",
        "priority_queue",
        "vip_room",
        "airport_lounge",
        "health_checkup",
        "airport_transfer",
        "concierge",
    ),
)
ATTRITION_REASONS = ("balance_outflow", "competitor_offer", "product_maturity", "complaint_open")
_AUM_EDGES = (50_000, 500_000, 1_000_000, 6_000_000)
_RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")


def _wan(cny: int) -> str:
    return f"{cny / 10_000:g}万"


def aum_band_label(aum: float) -> str:
    """HQ's band label for an AUM figure (the hub's default bands): '50万-100万'."""
    if aum < _AUM_EDGES[0]:
        return f"{_wan(_AUM_EDGES[0])}以下"
    for low, high in itertools.pairwise(_AUM_EDGES):
        if low <= aum < high:
            return f"{_wan(low)}-{_wan(high)}"
    return f"{_wan(_AUM_EDGES[-1])}以上"


def _products(rng: random.Random, rank: int, cards: list[dict[str, str]]) -> dict[str, list[str]]:
    held: dict[str, list[str]] = {}
    for category, offers in _PRODUCTS.items():
        held[category] = [code for code, low, p in offers if rank >= low and rng.random() < p]
    kinds = sorted({card["kind"] for card in cards})
    held["cards"] = [f"card_{kind}" for kind in kinds]
    return held


def card_fields(
    rng: random.Random, aum: float, rank: int, cards: list[dict[str, str]], as_of: date
) -> dict[str, Any]:
    """The card fields of one customer (tier rank 0 = lowest), in a fixed draw order."""
    products = _products(rng, rank, cards)
    wealth = bool(products["wealth_management"] or products["funds"] or products["insurance"])
    risk = None
    if wealth:
        # Assessments last a year; about one in eight has lapsed and must be redone.
        expires = as_of + timedelta(days=int(rng.random() * 410) - 45)
        level = _RISK_LEVELS[min(4, int(rng.random() * 3) + min(rank, 2))]
        risk = {"level": level, "expires": expires.isoformat()}
    attrition = None
    if rng.random() < 0.25:  # HQ scored this customer
        flagged = rng.random() < 0.3
        reason = ATTRITION_REASONS[int(rng.random() * len(ATTRITION_REASONS))]
        attrition = {"flag": flagged, "reason": reason if flagged else None}
    return {
        "aum_band": aum_band_label(aum),
        "products": products,
        "benefits": list(BENEFITS_BY_RANK[min(rank, 3)]),
        "risk_assessment": risk,
        "attrition_risk": attrition,
    }
