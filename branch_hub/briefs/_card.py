"""The card's customer fields of a brief: segments, RM, risk assessment, products, benefits, attrition.

Each comes from the decrypted HQ record and is left out (null or []) for a role that may not
see it; a malformed value in the record (an older cache, a lax export) is dropped, never
passed on or raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from branch_hub.briefs._events import parse_date
from branch_hub.briefs._policy import COUNTER_BENEFITS

__all__ = ["CARD_KEYS", "PRODUCT_CATEGORIES", "card_fields", "empty_card"]

PRODUCT_CATEGORIES = ("deposits", "wealth_management", "funds", "insurance", "loans", "cards")
RISK_LEVELS = frozenset({"C1", "C2", "C3", "C4", "C5"})
CARD_KEYS = (
    "segments",
    "relationship_manager",
    "risk_assessment",
    "products",
    "benefits",
    "attrition",
)


def empty_card() -> dict[str, Any]:
    """The card fields of a walk-in (or of a role that sees none of them)."""
    return {
        "segments": [],
        "relationship_manager": None,
        "risk_assessment": None,
        "products": None,
        "benefits": [],
        "attrition": None,
    }


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def _risk(value: object, today: date) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or value.get("level") not in RISK_LEVELS:
        return None
    expires = parse_date(value.get("expires"))
    if expires is None:
        return None
    return {"level": value["level"], "expires": expires.isoformat(), "expired": expires < today}


def _products(value: object) -> dict[str, list[str]] | None:
    if not isinstance(value, Mapping):
        return None
    return {category: _texts(value.get(category)) for category in PRODUCT_CATEGORIES}


def _attrition(value: object, with_reason: bool) -> dict[str, Any] | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("flag"), bool):
        return None
    reason = value.get("reason")
    shown = reason if with_reason and value["flag"] and isinstance(reason, str) else None
    return {"flag": value["flag"], "reason": shown}


def card_fields(record: Mapping[str, Any], hidden: frozenset[str], today: date) -> dict[str, Any]:
    """The card fields of a customer as a role with these hidden fields may see them."""
    card = empty_card()
    if "segments" not in hidden:
        card["segments"] = _texts(record.get("segments"))
    manager = record.get("relationship_manager")
    if "relationship_manager" not in hidden and isinstance(manager, str) and manager:
        card["relationship_manager"] = manager
    if "risk_assessment" not in hidden:
        card["risk_assessment"] = _risk(record.get("risk_assessment"), today)
    if "products" not in hidden:
        card["products"] = _products(record.get("products"))
    if "benefits" not in hidden:
        benefits = _texts(record.get("benefits"))
        if "non_counter_benefits" in hidden:
            benefits = [code for code in benefits if code in COUNTER_BENEFITS]
        card["benefits"] = benefits
    if "attrition" not in hidden:
        card["attrition"] = _attrition(
            record.get("attrition_risk"), "attrition_reason" not in hidden
        )
    return card
