"""Suitability (适当性): may this product be offered to this customer on this business day?

The one rule the hub and the tablet share. A product's risk level R1-R5 is compared with the
customer's risk-assessment level C1-C5 (保守型 C1 takes R1 at most, ... 激进型 C5 takes R5); an
assessment that is missing or lapsed before the business day makes every match unsuitable, so the
lead is marked "not suitable" instead of being pitched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

__all__ = [
    "CUSTOMER_LEVELS",
    "PRODUCT_RISKS",
    "Suitability",
    "Verdict",
    "max_product_risk",
    "risk_rank",
    "suitability",
]

PRODUCT_RISKS = ("R1", "R2", "R3", "R4", "R5")
CUSTOMER_LEVELS = ("C1", "C2", "C3", "C4", "C5")
LEVEL_NAMES_ZH = {"C1": "保守型", "C2": "谨慎型", "C3": "稳健型", "C4": "积极型", "C5": "激进型"}


class Verdict(StrEnum):
    """Why a product may or may not be offered; only SUITABLE allows a pitch."""

    SUITABLE = "suitable"
    UNKNOWN_PRODUCT_RISK = "unknown_product_risk"
    NO_ASSESSMENT = "no_assessment"
    ASSESSMENT_EXPIRED = "assessment_expired"
    TOO_RISKY = "too_risky"


@dataclass(frozen=True)
class Suitability:
    """The verdict with its reason in English and Chinese, as staff read it."""

    verdict: Verdict
    product_risk: str
    customer_level: str | None
    expires: date | None
    message: str
    message_zh: str

    @property
    def suitable(self) -> bool:
        """True only when the product may be pitched."""
        return self.verdict is Verdict.SUITABLE


def risk_rank(product_risk: str) -> int | None:
    """1..5 for R1..R5, None for anything else."""
    return PRODUCT_RISKS.index(product_risk) + 1 if product_risk in PRODUCT_RISKS else None


def max_product_risk(customer_level: str) -> str | None:
    """The riskiest product level a customer of this assessment level may buy (C3 -> R3)."""
    if customer_level not in CUSTOMER_LEVELS:
        return None
    return PRODUCT_RISKS[CUSTOMER_LEVELS.index(customer_level)]


def _expiry(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _assessment(value: Mapping[str, Any] | None) -> tuple[str | None, date | None]:
    """(level, expiry) when both are well formed, else (None, None): a bad record is no record."""
    if not isinstance(value, Mapping):
        return None, None
    level, expires = value.get("level"), _expiry(value.get("expires"))
    if level not in CUSTOMER_LEVELS or expires is None:
        return None, None
    return str(level), expires


def _verdict(product_risk: str, level: str | None, expires: date | None, today: date) -> Verdict:
    product = risk_rank(product_risk)
    if product is None:
        return Verdict.UNKNOWN_PRODUCT_RISK
    if level is None or expires is None:
        return Verdict.NO_ASSESSMENT
    if expires < today:
        return Verdict.ASSESSMENT_EXPIRED
    if product > CUSTOMER_LEVELS.index(level) + 1:
        return Verdict.TOO_RISKY
    return Verdict.SUITABLE


def _messages(
    verdict: Verdict, product_risk: str, level: str | None, expires: date | None
) -> tuple[str, str]:
    if verdict is Verdict.UNKNOWN_PRODUCT_RISK:
        return "The product has no valid risk level.", "该产品没有有效的风险等级。"
    if level is None or expires is None:
        return (
            "The customer has no risk assessment; assess before offering.",
            "客户尚未进行风险评估，请先完成评估再推介。",
        )
    name = LEVEL_NAMES_ZH[level]
    if verdict is Verdict.ASSESSMENT_EXPIRED:
        return (
            f"The customer's risk assessment expired on {expires.isoformat()}; reassess first.",
            f"客户风险评估已于{expires.isoformat()}过期，请先重新评估。",
        )
    if verdict is Verdict.TOO_RISKY:
        return (
            f"Product risk {product_risk} is above what a {level} customer may buy.",
            f"产品风险等级{product_risk}超出{level}（{name}）客户的承受范围，不适合推介。",
        )
    return (
        f"Product risk {product_risk} suits a {level} customer.",
        f"产品风险等级{product_risk}与{level}（{name}）客户相匹配。",
    )


def suitability(
    product_risk: str, assessment: Mapping[str, Any] | None, today: date
) -> Suitability:
    """Judge one product for one customer; `assessment` is {"level": "C3", "expires": ISO date}.

    An assessment is valid through its expiry date and lapsed from the next business day on.
    """
    level, expires = _assessment(assessment)
    verdict = _verdict(product_risk, level, expires, today)
    message, message_zh = _messages(verdict, product_risk, level, expires)
    return Suitability(verdict, product_risk, level, expires, message, message_zh)
