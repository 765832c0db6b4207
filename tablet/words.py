"""What the tablet says (Chinese first, English on the toggle): role titles, tiers, services, tags, and the lines it builds.

Pure functions over the tablet's data (no Kivy), so the wording is tested without a window. Codes
this table does not know are shown as they come rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from branch_hub.client.i18n import format_amount, format_date
from tablet.i18n import N_, _, language
from tablet.state import Arrival

__all__ = [
    "BENEFITS",
    "CATEGORIES",
    "ROLE_TITLES",
    "SEGMENTS",
    "attrition_text",
    "benefit_name",
    "category_name",
    "claim_text",
    "product_name",
    "risk_text",
    "role_title",
    "row_detail",
    "row_title",
    "score_name",
    "segment_name",
    "service_name",
    "shown_amount",
    "shown_date",
    "tier_name",
    "waited_text",
    "zh_date",
]

ROLE_TITLES = {
    "lobby_manager": N_("Lobby manager"),
    "wealth_manager": N_("Wealth manager"),
    "account_manager": N_("Account manager"),
    "teller": N_("Teller"),
    "branch_admin": N_("Branch manager"),
}
TIERS = {
    "mass": N_("Mass customer"),
    "basic": N_("Basic customer"),
    "wealth": N_("Wealth customer"),
    "private": N_("Private banking customer"),
}
SERVICES = {
    "cash": N_("Cash"),
    "account": N_("Accounts"),
    "wealth": N_("Wealth advice"),
    "loan": N_("Loan services"),
    "card": N_("Card services"),
    "business": N_("Business banking"),
}
SEGMENTS = {
    "senior": N_("Senior"),
    "high_net_worth": N_("High net worth"),
    "young_professional": N_("Young professional"),
    "payroll": N_("Payroll"),
    "pension": N_("Pension"),
    "business_owner": N_("Business owner"),
    "mortgage_holder": N_("Mortgage holder"),
    "credit_card_active": N_("Active credit card user"),
    "digital_active": N_("Active mobile banking user"),
    "dormant": N_("Not seen for a while"),
    "family_with_children": N_("Family with children"),
    "cross_border": N_("Cross-border"),
}
BENEFITS = {
    "free_mobile_transfer": N_("Free mobile transfers"),
    "fee_waiver_card_annual": N_("No card annual fee"),
    "fee_waiver_transfer": N_("No transfer fees"),
    "fee_waiver_cash_other_bank": N_("Free cash at other banks"),
    "priority_queue": N_("Priority service"),
    "vip_room": N_("VIP room"),
    "airport_lounge": N_("Airport lounge"),
    "health_checkup": N_("Health check-up"),
    "airport_transfer": N_("Airport transfer"),
    "concierge": N_("Personal concierge"),
}
CATEGORIES = {
    "deposits": N_("Deposits"),
    "wealth_management": N_("Wealth management"),
    "funds": N_("Funds"),
    "insurance": N_("Insurance"),
    "loans": N_("Loans"),
    "cards": N_("Cards"),
}
PRODUCTS = {
    "dep_demand": N_("Demand deposit"),
    "dep_time": N_("Time deposit"),
    "dep_large_cd": N_("Large certificate of deposit"),
    "wm_fixed_income": N_("Fixed-income wealth product"),
    "wm_balanced": N_("Balanced wealth product"),
    "fund_money_market": N_("Money market fund"),
    "fund_equity_sip": N_("Equity fund savings plan"),
    "fund_bond": N_("Bond fund"),
    "ins_critical_illness": N_("Critical illness insurance"),
    "ins_annuity": N_("Annuity insurance"),
    "loan_mortgage": N_("Mortgage"),
    "loan_consumer": N_("Consumer loan"),
}
ATTRITION = {
    "balance_outflow": N_("Money keeps flowing out"),
    "competitor_offer": N_("Tempted by another bank's offer"),
    "product_maturity": N_("A product matures soon"),
    "complaint_open": N_("An open complaint"),
}
SCORES = {"high": N_("High"), "mid": N_("Medium"), "low": N_("Low")}


def role_title(role: str | None) -> str:
    """A role's title as staff say it (大堂经理), never its code."""
    title = ROLE_TITLES.get(role or "")
    return _(title) if title else _("Staff")


def _named(table: dict[str, str], code: str | None) -> str:
    """A code's name in the language shown (an unknown code as it comes, empty for none)."""
    if not code:
        return ""
    name = table.get(code)
    return _(name) if name else code


def tier_name(code: str | None) -> str:
    """A tier's name (empty for a walk-in)."""
    return _named(TIERS, code)


def service_name(code: str | None) -> str:
    """A service's name."""
    return _named(SERVICES, code)


def shown_date(value: str | date) -> str:
    """A date as staff read it: 2026年3月1日 / Mar 1, 2026 (the text back when it is not a date)."""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
    except ValueError:
        return str(value)
    return format_date(day, language())


zh_date = shown_date  # the older name


def shown_amount(yuan: Decimal | int) -> str:
    """An amount in yuan as staff read it: ¥1,234.50 / CN¥1,234.50 (never from a float)."""
    return format_amount(yuan, language())


def claim_text(
    claimed_by: str | None, me: str | None, names: Mapping[str, str] | None = None
) -> str:
    """Who holds the customer, without staff ids: me, a colleague by name, or a colleague."""
    if not claimed_by:
        return ""
    if claimed_by == me:
        return _("Claimed by me")
    name = (names or {}).get(claimed_by)
    return _("{name} has claimed").format(name=name) if name else _("Claimed by a colleague")


def row_title(visit: Arrival) -> str:
    """A list row's first line: ticket, salutation and tier."""
    who = visit.salutation_zh or _("Walk-in")
    tier = tier_name(visit.tier)
    return f"{visit.ticket}   {who}" + (f"  ·  {tier}" if tier else "")


def waited_text(minutes: int) -> str:
    """How long a customer has waited."""
    return _("Waited {minutes} min").format(minutes=minutes)


def row_detail(
    visit: Arrival, now: datetime, me: str | None, names: Mapping[str, str] | None = None
) -> str:
    """A list row's second line: service, wait, claim and whether it is being served."""
    parts = [service_name(visit.service), waited_text(visit.waiting_minutes(now))]
    parts.append(claim_text(visit.claimed_by, me, names))
    if visit.state == "serving":
        parts.append(_("Being served"))
    return "  ·  ".join(p for p in parts if p)


def risk_text(level: str, expires: str, expired: bool) -> str:
    """A risk assessment's line: level and expiry, flagged when it must be redone."""
    line = _("Risk rating {level}  ·  valid until {date}").format(
        level=level, date=shown_date(expires)
    )
    return line + (_("  (expired: assess again)") if expired else "")


def product_name(code: str) -> str:
    """A held product's name."""
    return _named(PRODUCTS, code)


def category_name(code: str) -> str:
    """A product category's name."""
    return _named(CATEGORIES, code)


def segment_name(code: str) -> str:
    """A segment tag."""
    return _named(SEGMENTS, code)


def benefit_name(code: str) -> str:
    """A benefit."""
    return _named(BENEFITS, code)


def attrition_text(reason: str | None) -> str:
    """The attrition warning's line."""
    why = _named(ATTRITION, reason)
    return _("Attrition warning: {why}").format(why=why) if why else _("Attrition warning")


def score_name(score: str) -> str:
    """A lead's score as high/medium/low."""
    return _named(SCORES, score)
