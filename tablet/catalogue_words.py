"""What the catalogue screens say: categories, risk levels, yields, terms, amounts, suitability.

Pure functions (no Kivy): English in the code, Chinese from the tablet's catalogue; amounts and
dates through the shared Babel formatters in the language shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from branch_hub.client.i18n import format_amount, format_date
from branch_hub.client.suitability import Verdict, suitability
from tablet import theme
from tablet.i18n import N_, _, language

__all__ = [
    "ARTICLE_KINDS",
    "CATEGORIES",
    "LINE_CATEGORIES",
    "RISKS",
    "Flag",
    "amount_text",
    "article_kind",
    "category_name",
    "flag_for",
    "risk_name",
    "term_text",
    "valid_text",
    "yield_text",
]

# The catalogue's categories in the order staff meet them (docs/catalogue.md).
CATEGORIES = {
    "deposit": N_("Deposits"),
    "wealth": N_("Wealth management"),
    "fund": N_("Funds"),
    "insurance": N_("Insurance"),
    "loan": N_("Loans"),
    "card": N_("Credit cards"),
    "forex": N_("Foreign exchange"),
    "pension": N_("Retirement"),
}
RISKS = {
    "R1": N_("Low"),
    "R2": N_("Medium-low"),
    "R3": N_("Medium"),
    "R4": N_("Medium-high"),
    "R5": N_("High"),
}
ARTICLE_KINDS = {
    "faq": N_("FAQ"),
    "procedure": N_("Procedure"),
    "fee_rule": N_("Fee rule"),
}
# A lead's product line (HQ's lead codes) and the catalogue category that sells it.
LINE_CATEGORIES = {
    "large_cd": "deposit",
    "wealth_fixed": "wealth",
    "fund_sip": "fund",
    "pension_acct": "pension",
    "credit_card": "card",
    "instalment": "card",
    "mortgage": "loan",
    "insurance": "insurance",
    "fx": "forex",
}
_FLAGS = {
    "suitable": N_("Suitable for this customer"),
    "risk_too_high": N_("Not suitable: the product's risk is above the customer's tolerance"),
    "assessment_expired": N_("The risk assessment has expired"),
    "no_assessment": N_("No risk assessment on record"),
    "not_in_catalogue": N_("Not in the product catalogue"),
}
_VERDICTS = {
    Verdict.SUITABLE: "suitable",
    Verdict.TOO_RISKY: "risk_too_high",
    Verdict.ASSESSMENT_EXPIRED: "assessment_expired",
    Verdict.NO_ASSESSMENT: "no_assessment",
    Verdict.UNKNOWN_PRODUCT_RISK: "not_in_catalogue",
}


def category_name(code: str) -> str:
    """A catalogue category in words (存款, 理财, ...)."""
    name = CATEGORIES.get(code)
    return _(name) if name else code


def risk_name(risk: str) -> str:
    """A risk level with its name: R3 中."""
    name = RISKS.get(risk)
    return f"{risk} {_(name)}" if name else risk


def article_kind(kind: str) -> str:
    """An article's kind in words (常见问题, 办理流程, 收费标准)."""
    name = ARTICLE_KINDS.get(kind)
    return _(name) if name else kind


def _locale() -> str:
    return "en" if language() == "en" else "zh_CN"


def yield_text(pct: object, basis: object = "", kind: object = "rate") -> str:
    """3.15% (a fund's unit value as 净值 1.762) with its basis; empty when it has none."""
    try:
        value = Decimal(str(pct)) if pct not in (None, "") else None
    except InvalidOperation:
        value = None
    if value is None:
        return ""
    number = f"{value.normalize():f}"
    shown = _("NAV {value}").format(value=number) if kind == "nav" else f"{number}%"
    return f"{shown}（{basis}）" if basis else shown


def term_text(days: object) -> str:
    """A term in days, months or years; 'open-ended' for a product without one."""
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        return _("No fixed term")
    if days % 365 == 0:
        return _("{n} years").format(n=days // 365)
    if days >= 28 and days % 30 == 0:
        return _("{n} months").format(n=days // 30)
    return _("{n} days").format(n=days)


def amount_text(yuan: object) -> str:
    """A minimum amount in yuan as the locale writes it; 'no minimum' for 0."""
    if not isinstance(yuan, int) or isinstance(yuan, bool) or yuan <= 0:
        return _("No minimum")
    return _("From {amount}").format(amount=format_amount(yuan, _locale()))


def valid_text(valid_from: str, valid_to: str) -> str:
    """The sale window: 2026年1月1日 – 2026年12月31日."""
    try:
        start, end = date.fromisoformat(valid_from), date.fromisoformat(valid_to)
    except ValueError:
        return ""
    shown = f"{format_date(start, _locale())} – {format_date(end, _locale())}"
    return _("On sale {dates}").format(dates=shown)


class Flag:
    """The suitability flag of a product for the customer of a lead: its words and colours."""

    def __init__(self, code: str) -> None:
        self.code = code

    @property
    def text(self) -> str:
        """What the flag says."""
        return _(_FLAGS.get(self.code, _FLAGS["not_in_catalogue"]))

    @property
    def colours(self) -> tuple[theme.Colour, theme.Colour]:
        """(ink, fill): green for suitable, red for a refusal, amber for not judged."""
        if self.code == "suitable":
            return theme.ON_DARK, theme.ACCENT
        if self.code == "not_in_catalogue":
            return theme.WARN_INK, theme.WARN_BG
        return theme.ALERT_INK, theme.ALERT_BG


def flag_for(
    product: Mapping[str, Any], given: str | None, assessment: Mapping[str, Any] | None, today: date
) -> Flag:
    """The hub's verdict for the lead's product when it gave one, else the shared rule's."""
    if given in _FLAGS:
        return Flag(str(given))
    verdict = suitability(str(product.get("risk", "")), assessment, today).verdict
    return Flag(_VERDICTS[verdict])
