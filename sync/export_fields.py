"""Checks of the export's optional fields: AUM band, risk, products, benefits, lead declines,
leads' product codes, HQ's confirmed purchases of leads and the customer's consent to texts.

Every field here may be absent (older exports publish and pull unchanged); when present it
must have the documented shape (docs/hq-interface.md). A bad field raises ExportFieldError,
whose message names the field and what it must be, never the value (it is customer data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

__all__ = [
    "PRODUCT_CATEGORIES",
    "RISK_LEVELS",
    "ExportFieldError",
    "check_card_fields",
    "sms_opted_in",
]

RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")
PRODUCT_CATEGORIES = ("deposits", "wealth_management", "funds", "insurance", "loans", "cards")
MAX_ITEMS = 50
MAX_TEXT = 64
_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PRODUCT_CODE = re.compile(r"[A-Z]{2}[0-9A-Z]{2,18}")  # a catalogue product code (FD2026A0001)
MAX_LEAD_PRODUCTS = 3
_NUMBER = re.compile(r"[¥￥+\-\s]*[0-9][0-9,.\s]*元?")  # a figure in disguise, not a band


class ExportFieldError(ValueError):
    """One optional export field has the wrong shape; `field` names it."""

    def __init__(self, field: str, wanted: str) -> None:
        super().__init__(f"{field} must be {wanted}")
        self.field = field


def _text(value: object, field: str, wanted: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        raise ExportFieldError(field, wanted)
    return value


def _code(value: object, field: str) -> str:
    wanted = "a code of lowercase letters, digits and '_' (at most 48, starting with a letter)"
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise ExportFieldError(field, wanted)
    return value


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ExportFieldError(field, f"a list of at most {MAX_ITEMS} items")
    return value


def _object(value: object, field: str, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ExportFieldError(field, "a JSON object or null")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise ExportFieldError(field, f"an object with keys among {', '.join(keys)}")
    return value


def _aum_band(value: object) -> None:
    wanted = f"a band label of 1-{MAX_TEXT} characters (never the figure)"
    if _NUMBER.fullmatch(_text(value, "aum_band", wanted)):
        raise ExportFieldError("aum_band", wanted)


def _risk(value: object) -> None:
    risk = _object(value, "risk_assessment", ("level", "expires"))
    if risk.get("level") not in RISK_LEVELS:
        raise ExportFieldError("risk_assessment.level", f"one of {', '.join(RISK_LEVELS)}")
    expires = risk.get("expires")
    if not isinstance(expires, str) or not _DATE.fullmatch(expires):
        raise ExportFieldError("risk_assessment.expires", "a date YYYY-MM-DD")
    try:
        date.fromisoformat(expires)
    except ValueError:
        raise ExportFieldError("risk_assessment.expires", "a date YYYY-MM-DD") from None


def _products(value: object) -> None:
    products = _object(value, "products", PRODUCT_CATEGORIES)
    for category, held in products.items():
        field = f"products.{category}"
        for item in _list(held, field):
            name = _text(item, field, f"a list of product codes or names (1-{MAX_TEXT} chars)")
            if _NUMBER.fullmatch(name):
                raise ExportFieldError(field, "a list of product codes or names, not figures")


def _attrition(value: object) -> None:
    attrition = _object(value, "attrition_risk", ("flag", "reason"))
    if not isinstance(attrition.get("flag"), bool):
        raise ExportFieldError("attrition_risk.flag", "true or false")
    if attrition.get("reason") is not None:
        _code(attrition["reason"], "attrition_risk.reason")


def _segments(value: object) -> None:
    for item in _list(value, "segments"):
        _text(item, "segments", f"a list of tags (1-{MAX_TEXT} chars)")


def _manager(value: object) -> None:
    _text(value, "relationship_manager", f"a staff id (1-{MAX_TEXT} chars) or null")


def _benefits(value: object) -> None:
    for item in _list(value, "benefits"):
        _code(item, "benefits")


def _lead_declines(value: object) -> None:
    keys = ("lead_id", "product_code", "declined_on", "reason")
    for item in _list(value, "lead_declines"):
        decline = _object(item, "lead_declines", keys)
        for key in ("lead_id", "product_code"):
            if decline.get(key) is not None:
                _text(decline[key], f"lead_declines.{key}", f"a code (1-{MAX_TEXT} chars) or null")
        if decline.get("lead_id") is None and decline.get("product_code") is None:
            raise ExportFieldError("lead_declines", "objects naming a lead_id or a product_code")
        _date(decline.get("declined_on"), "lead_declines.declined_on")
        _code(decline.get("reason"), "lead_declines.reason")


def _leads(value: object) -> None:
    """Only what leads may newly carry is checked: `product_codes` and `confirmed`."""
    for lead in value if isinstance(value, list) else ():
        if not isinstance(lead, dict):
            continue
        if lead.get("product_codes") is not None:
            _lead_products(lead["product_codes"])
        if lead.get("confirmed") is not None:
            _confirmed(lead["confirmed"])


def _lead_products(codes: object) -> None:
    """Absent or 1-3 catalogue codes."""
    wanted = f"a list of 1-{MAX_LEAD_PRODUCTS} catalogue product codes"
    if not isinstance(codes, list) or not 1 <= len(codes) <= MAX_LEAD_PRODUCTS:
        raise ExportFieldError("leads.product_codes", wanted)
    for code in codes:
        if not isinstance(code, str) or not _PRODUCT_CODE.fullmatch(code):
            raise ExportFieldError("leads.product_codes", wanted)


def _confirmed(value: object) -> None:
    """HQ's core system saw the lead become a purchase: when, and which catalogue product."""
    confirmed = _object(value, "leads.confirmed", ("purchased_on", "product"))
    _date(confirmed.get("purchased_on"), "leads.confirmed.purchased_on")
    product = confirmed.get("product")
    if not isinstance(product, str) or not _PRODUCT_CODE.fullmatch(product):
        raise ExportFieldError("leads.confirmed.product", "a catalogue product code")


def _date(value: object, field: str) -> None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ExportFieldError(field, "a date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ExportFieldError(field, "a date YYYY-MM-DD") from None


def _sms_opt_in(value: object) -> None:
    """The customer agreed to texts about their ticket (HQ holds the number, never the hub)."""
    if not isinstance(value, bool):
        raise ExportFieldError("sms_opt_in", "true or false")


def _appointments(value: object) -> None:
    from sync.export_appointments import check_appointments

    check_appointments(value)


_CHECKS = {
    "aum_band": _aum_band,
    "risk_assessment": _risk,
    "products": _products,
    "benefits": _benefits,
    "attrition_risk": _attrition,
    "segments": _segments,
    "relationship_manager": _manager,
    "lead_declines": _lead_declines,
    "leads": _leads,
    "appointments": _appointments,
    "sms_opt_in": _sms_opt_in,
}


def check_card_fields(customer: Mapping[str, Any]) -> None:
    """Raise ExportFieldError if a present, non-null card field has the wrong shape."""
    for name, check in _CHECKS.items():
        value = customer.get(name)
        if value is not None:
            check(value)


def sms_opted_in(customer: Mapping[str, Any] | None) -> bool:
    """True only when the record says, exactly, that the customer agreed to texts."""
    return customer is not None and customer.get("sms_opt_in") is True
