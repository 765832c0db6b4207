"""Synthetic history of the HQ export: each customer's recent lead declines, with dates and reasons.

Drawn from a generator of its own (one per block), so adding it left every older field of the
export unchanged for a seed. Synthetic only: no real customer's history.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sync.synth_tables import PRODUCTS

__all__ = ["DECLINE_REASONS", "lead_declines"]

# HQ's decline reason codes (the hub's vocabulary.DeclineReason; a test keeps them equal).
DECLINE_REASONS = (
    "has_similar",
    "rate_unattractive",
    "no_funds_now",
    "wants_to_think",
    "distrusts_type",
    "other",
)


def _decline(rng: random.Random, code: str, as_of: date, max_days: int) -> dict[str, Any]:
    days = 1 + int(rng.random() * max_days)
    return {
        "product_code": code,
        "declined_on": (as_of - timedelta(days=days)).isoformat(),
        "reason": DECLINE_REASONS[int(rng.random() * len(DECLINE_REASONS))],
    }


def lead_declines(
    rng: random.Random, leads: list[dict[str, Any]], as_of: date
) -> list[dict[str, Any]]:
    """A customer's recent declines: often of a product HQ still scores as a lead, in fixed order."""
    history = []
    if leads and rng.random() < 0.3:
        lead = leads[int(rng.random() * len(leads))]
        history.append(_decline(rng, str(lead["product_code"]), as_of, 45))
    if rng.random() < 0.1:
        code = PRODUCTS[int(rng.random() * len(PRODUCTS))][0]
        history.append(_decline(rng, code, as_of, 90))
    return history
