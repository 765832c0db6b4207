"""The products a lead names, judged for the customer against the hub's applied catalogue.

A lead of HQ's export may carry `product_codes`; each is looked up in the catalogue the hub
applied (a dict built once per catalogue version, so a brief pays a dict lookup per product) and
judged by `branch_common.suitability` against the customer's risk assessment. The lead is "not
suitable" when it names products, at least one of them is in the catalogue, and none is suitable:
the hub then refuses its acceptance. Products the catalogue does not hold (or every product, before
the first catalogue) say `not_in_catalogue` and block nothing: the hub cannot judge them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from branch_common.suitability import Verdict, suitability
from branch_hub.vocabulary import ProductSuitability

__all__ = ["LeadVerdict", "ProductFacts", "judge_lead", "judge_product", "lead_codes"]

_BY_VERDICT = {
    Verdict.SUITABLE: ProductSuitability.SUITABLE,
    Verdict.TOO_RISKY: ProductSuitability.RISK_TOO_HIGH,
    Verdict.ASSESSMENT_EXPIRED: ProductSuitability.ASSESSMENT_EXPIRED,
    Verdict.NO_ASSESSMENT: ProductSuitability.NO_ASSESSMENT,
    Verdict.UNKNOWN_PRODUCT_RISK: ProductSuitability.NOT_IN_CATALOGUE,
}
MAX_CODES = 3


@dataclass(frozen=True)
class ProductFacts:
    """What a brief needs of one catalogue product."""

    code: str
    name_zh: str
    risk: str
    valid_from: str
    valid_to: str

    def on_sale(self, today: date) -> bool:
        """True while the product is sold (its validity includes `today`)."""
        return self.valid_from <= today.isoformat() <= self.valid_to


@dataclass(frozen=True)
class LeadVerdict:
    """A lead's products as the brief shows them, and why it may not be pitched (or None)."""

    products: tuple[dict[str, Any], ...]
    not_suitable_reason: ProductSuitability | None

    def refused(self) -> list[dict[str, Any]]:
        """The products that make the lead unsuitable (those judged, all unsuitable)."""
        if self.not_suitable_reason is None:
            return []
        return [p for p in self.products if p["suitability"] != ProductSuitability.NOT_IN_CATALOGUE]


@functools.lru_cache(maxsize=1024)
def _judged(risk: str, level: object, expires: object, today: date) -> ProductSuitability:
    assessment = None if level is None else {"level": level, "expires": expires}
    return _BY_VERDICT[suitability(risk, assessment, today).verdict]


def judge_product(
    risk: str, assessment: Mapping[str, Any] | None, today: date
) -> ProductSuitability:
    """May a product of this risk be offered to a customer of this assessment today."""
    if not isinstance(assessment, Mapping):
        return _judged(risk, None, None, today)
    level, expires = assessment.get("level"), assessment.get("expires")
    if not isinstance(level, str) or not isinstance(expires, str | date):
        return _judged(risk, None, None, today)  # a malformed record is no record (the rule's)
    return _judged(risk, level, expires, today)


def lead_codes(lead: Mapping[str, Any]) -> list[str]:
    """The lead's product codes (at most three strings; anything else in the record is dropped)."""
    codes = lead.get("product_codes")
    if not isinstance(codes, list):
        return []
    return [c for c in codes if isinstance(c, str) and c][:MAX_CODES]


def _product(
    code: str,
    lead: Mapping[str, Any],
    facts: ProductFacts | None,
    assessment: Mapping[str, Any] | None,
    today: date,
) -> dict[str, Any]:
    if facts is None:
        name = lead.get("product")
        return {
            "code": code,
            "name_zh": name if isinstance(name, str) else "",
            "risk": None,
            "on_sale": False,
            "suitability": ProductSuitability.NOT_IN_CATALOGUE,
        }
    return {
        "code": code,
        "name_zh": facts.name_zh,
        "risk": facts.risk,
        "on_sale": facts.on_sale(today),
        "suitability": judge_product(facts.risk, assessment, today),
    }


def judge_lead(
    lead: Mapping[str, Any],
    catalogue: Mapping[str, ProductFacts] | None,
    assessment: Mapping[str, Any] | None,
    today: date,
) -> LeadVerdict:
    """Judge each of the lead's products for this customer on this business day."""
    known = catalogue or {}
    products = tuple(
        _product(code, lead, known.get(code), assessment, today) for code in lead_codes(lead)
    )
    judged = [p["suitability"] for p in products if p["risk"] is not None]
    if not judged or ProductSuitability.SUITABLE in judged:
        return LeadVerdict(products, None)
    return LeadVerdict(products, ProductSuitability(judged[0]))
