"""A catalogue product's facts as the compare and presentation screens show them (no Kivy).

Products are read through `ProductSource` (any object with `product(code)` and `image(name)`),
so the screens work from the tablet's verified catalogue copy, the catalogue screen's source or,
in tests, an index built from the synthetic catalogue. Only catalogue fields are read: nothing
here knows about customers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from tablet.i18n import N_, _
from tablet.words import segment_name, shown_amount, shown_date, tier_name

__all__ = [
    "PRODUCT_CATEGORIES",
    "RISK_LEVELS",
    "ProductFacts",
    "ProductSource",
    "SearchSource",
    "facts_of",
]


class ProductSource(Protocol):
    """Where the screens read products: a catalogue record by code, an image's bytes by name."""

    def product(self, code: str) -> Mapping[str, Any] | None:
        """The whole catalogue record of a product, None for a code the catalogue lacks."""

    def image(self, name: str) -> bytes | None:
        """A product picture's bytes, None when the copy does not hold it."""


class _Search(Protocol):
    def product(self, code: str) -> Mapping[str, Any] | None:
        """The record of `code`."""


class SearchSource:
    """A `ProductSource` over a `CatalogueSearch` (and, when given, a verified file reader)."""

    def __init__(self, search: _Search, files: Callable[[str], bytes | None] | None = None) -> None:
        self.search = search
        self.files = files

    def product(self, code: str) -> Mapping[str, Any] | None:
        """The product's record from the index (a primary-key read of a local file)."""
        return self.search.product(code)

    def image(self, name: str) -> bytes | None:
        """The picture's bytes from the verified copy, if one was given."""
        return self.files(name) if self.files is not None and name else None


PRODUCT_CATEGORIES = {
    "deposit": N_("Deposit"),
    "wealth": N_("Wealth management product"),
    "fund": N_("Fund"),
    "insurance": N_("Insurance"),
    "loan": N_("Loan"),
    "card": N_("Card"),
    "forex": N_("Foreign exchange"),
    "pension": N_("Pension product"),
}
RISK_LEVELS = {
    "R1": N_("R1 low risk"),
    "R2": N_("R2 medium-low risk"),
    "R3": N_("R3 medium risk"),
    "R4": N_("R4 medium-high risk"),
    "R5": N_("R5 high risk"),
}
YIELD_KINDS = {
    "expected_annual": N_("Performance benchmark (annual)"),
    "rate": N_("Interest rate (annual)"),
    "nav": N_("Net asset value"),
}


@dataclass(frozen=True)
class ProductFacts:
    """What a column or the presentation shows of one product, in the language shown now."""

    code: str
    name: str
    category: str
    risk: str
    risk_level: int  # 1-5: the badge's colour
    term: str
    yield_line: str
    yield_basis: str
    minimum: str
    tiers: str
    segments: str
    points: tuple[str, ...]
    disclaimer: str
    valid: str
    image: str | None


def _named(table: Mapping[str, str], code: object) -> str:
    text = str(code or "")
    return _(table[text]) if text in table else text


def _texts(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list | tuple) else []


def term_text(days: object) -> str:
    """A term in days as people say it: 90天, 1年, 10年 (open-ended when there is none)."""
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        return _("No fixed term")
    if days % 365 == 0:
        return _("{years} years").format(years=days // 365)
    return _("{days} days").format(days=days)


def yield_text(kind: object, pct: object) -> str:
    """The yield with what it is: 业绩比较基准（年化） 3.85%; nothing for a product without one."""
    if kind not in YIELD_KINDS or pct in (None, ""):
        return _("No stated yield")
    try:
        value = Decimal(str(pct))
    except InvalidOperation:
        return str(pct)
    shown = f"{value}" if kind == "nav" else f"{value}%"
    return f"{_named(YIELD_KINDS, kind)}  {shown}"


def facts_of(record: Mapping[str, Any]) -> ProductFacts:
    """A catalogue record's facts, translated and formatted now."""
    risk = str(record.get("risk") or "")
    minimum = record.get("min_amount_yuan")
    amount = minimum if isinstance(minimum, int) and not isinstance(minimum, bool) else 0
    start, end = record.get("valid_from"), record.get("valid_to")
    return ProductFacts(
        code=str(record.get("code") or ""),
        name=str(record.get("name_zh") or record.get("name_en") or record.get("code") or ""),
        category=_named(PRODUCT_CATEGORIES, record.get("category")),
        risk=_named(RISK_LEVELS, risk),
        risk_level=int(risk[1]) if len(risk) == 2 and risk[1] in "12345" else 5,
        term=term_text(record.get("term_days")),
        yield_line=yield_text(record.get("yield_kind"), record.get("yield_pct")),
        yield_basis=str(record.get("yield_basis_zh") or ""),
        minimum=_("From {amount}").format(amount=shown_amount(amount))
        if amount
        else _("No minimum"),
        tiers="、".join(tier_name(t) for t in _texts(record.get("tiers"))) or _("All customers"),
        segments="、".join(segment_name(s) for s in _texts(record.get("segments"))),
        points=tuple(_texts(record.get("selling_points_zh"))),
        disclaimer=str(record.get("disclaimer_zh") or ""),
        valid=_("{start} to {end}").format(
            start=shown_date(str(start or "")), end=shown_date(str(end or ""))
        ),
        image=str(record["image"]) if record.get("image") else None,
    )
