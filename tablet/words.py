"""What the tablet says, in Chinese: role titles, tiers, services, tags, and the lines it builds.

Pure functions over the tablet's data (no Kivy), so the wording is tested without a window. Codes
this table does not know are shown as they come rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from tablet.i18n import N_, _
from tablet.state import Arrival

__all__ = [
    "BENEFITS",
    "CATEGORIES",
    "ROLE_TITLES",
    "SEGMENTS",
    "attrition_text",
    "benefit_name",
    "claim_text",
    "product_name",
    "risk_text",
    "role_title",
    "row_detail",
    "row_title",
    "score_name",
    "segment_name",
    "service_name",
    "tier_name",
    "zh_date",
]

ROLE_TITLES = {
    "lobby_manager": N_("Lobby manager"),
    "wealth_manager": N_("Wealth manager"),
    "account_manager": N_("Account manager"),
    "teller": N_("Teller"),
    "branch_admin": N_("Branch manager"),
}
TIERS = {"mass": "大众客户", "basic": "基础客户", "wealth": "财富客户", "private": "私人银行客户"}
SERVICES = {
    "cash": "现金业务",
    "account": "账户业务",
    "wealth": "理财咨询",
    "loan": "贷款业务",
    "card": "银行卡业务",
    "business": "对公业务",
}
SEGMENTS = {
    "senior": "长者客户",
    "high_net_worth": "高净值",
    "young_professional": "青年白领",
    "payroll": "代发工资",
    "pension": "养老金",
    "business_owner": "企业主",
    "mortgage_holder": "房贷客户",
    "credit_card_active": "信用卡活跃",
    "digital_active": "手机银行活跃",
    "dormant": "久未到访",
    "family_with_children": "有子女家庭",
    "cross_border": "跨境客户",
}
BENEFITS = {
    "free_mobile_transfer": "手机转账免费",
    "fee_waiver_card_annual": "免卡年费",
    "fee_waiver_transfer": "免转账手续费",
    "fee_waiver_cash_other_bank": "跨行取现免费",
    "priority_queue": "优先办理",
    "vip_room": "贵宾室",
    "airport_lounge": "机场贵宾厅",
    "health_checkup": "健康体检",
    "airport_transfer": "机场接送",
    "concierge": "专属礼宾",
}
CATEGORIES = {
    "deposits": "存款",
    "wealth_management": "理财",
    "funds": "基金",
    "insurance": "保险",
    "loans": "贷款",
    "cards": "银行卡",
}
PRODUCTS = {
    "dep_demand": "活期存款",
    "dep_time": "定期存款",
    "dep_large_cd": "大额存单",
    "wm_fixed_income": "固收理财",
    "wm_balanced": "平衡型理财",
    "fund_money_market": "货币基金",
    "fund_equity_sip": "股票基金定投",
    "fund_bond": "债券基金",
    "ins_critical_illness": "重疾险",
    "ins_annuity": "年金险",
    "loan_mortgage": "住房贷款",
    "loan_consumer": "消费贷款",
}
ATTRITION = {
    "balance_outflow": "资金持续流出",
    "competitor_offer": "他行产品吸引",
    "product_maturity": "产品即将到期",
    "complaint_open": "有未结投诉",
}
SCORES = {"high": "高", "mid": "中", "low": "低"}


def role_title(role: str | None) -> str:
    """A role's title as staff say it (大堂经理), never its code."""
    title = ROLE_TITLES.get(role or "")
    return _(title) if title else _("Staff")


def tier_name(code: str | None) -> str:
    """A tier's Chinese name (empty for a walk-in)."""
    return TIERS.get(code, code) if code else ""


def service_name(code: str | None) -> str:
    """A service's Chinese name."""
    return SERVICES.get(code, code) if code else ""


def zh_date(value: str | date) -> str:
    """A date as Chinese staff write it: 2026年3月1日 (the text back when it is not a date)."""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
    except ValueError:
        return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def claim_text(
    claimed_by: str | None, me: str | None, names: Mapping[str, str] | None = None
) -> str:
    """Who holds the customer, without staff ids: me, a colleague by name, or a colleague."""
    if not claimed_by:
        return ""
    if claimed_by == me:
        return "我已认领"
    name = (names or {}).get(claimed_by)
    return _("{name} has claimed").format(name=name) if name else "同事已认领"


def row_title(visit: Arrival) -> str:
    """A list row's first line: ticket, salutation and tier."""
    who = visit.salutation_zh or "散客"
    tier = tier_name(visit.tier)
    return f"{visit.ticket}   {who}" + (f"  ·  {tier}" if tier else "")


def row_detail(
    visit: Arrival, now: datetime, me: str | None, names: Mapping[str, str] | None = None
) -> str:
    """A list row's second line: service, wait, claim and whether it is being served."""
    parts = [service_name(visit.service), f"已等 {visit.waiting_minutes(now)} 分钟"]
    parts.append(claim_text(visit.claimed_by, me, names))
    if visit.state == "serving":
        parts.append("办理中")
    return "  ·  ".join(p for p in parts if p)


def risk_text(level: str, expires: str, expired: bool) -> str:
    """A risk assessment's line: level and expiry, flagged when it must be redone."""
    line = f"风险评级 {level}  ·  有效期至 {zh_date(expires)}"
    return line + ("  （已过期，需重新评估）" if expired else "")


def product_name(code: str) -> str:
    """A held product's Chinese name."""
    return PRODUCTS.get(code, code)


def segment_name(code: str) -> str:
    """A segment tag in Chinese."""
    return SEGMENTS.get(code, code)


def benefit_name(code: str) -> str:
    """A benefit in Chinese."""
    return BENEFITS.get(code, code)


def attrition_text(reason: str | None) -> str:
    """The attrition warning's line."""
    why = ATTRITION.get(reason, reason) if reason else ""
    return "流失预警" + (f"：{why}" if why else "")


def score_name(score: str) -> str:
    """A lead's score as 高/中/低."""
    return SCORES.get(score, score)
