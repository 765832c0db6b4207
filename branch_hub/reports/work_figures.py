"""Staff work figures from the records the hub keeps for HQ: lead outcomes, hand-offs, views.

Lead outcomes and hand-offs are read from the HQ outbox (one record per visit and lead, or per
hand-off, as HQ receives them); the lead's type and catalogue products are looked up in the
customer cache by the outcome's lead id (a lead the cache no longer holds counts as `unknown`).
An accepted lead whose cached record carries HQ's `confirmed` purchase counts as `confirmed`
(staff-reported next to what HQ's core system booked); the cache is read when the report is
built, so a confirmation pulled after the period still counts for it.
Product views come from the `product_views` table.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from branch_hub.reports.stats import duration_summary, share
from branch_hub.vocabulary import DeclineReason, LeadOutcome

__all__ = [
    "ConfirmedPurchase",
    "LeadFacts",
    "LeadLookup",
    "WorkTally",
    "cache_lookup",
    "conversion_line",
]

UNKNOWN = "unknown"
CONFIRMED = "confirmed"  # a counter key next to the outcomes: accepted and bought
OUTCOMES = (
    LeadOutcome.ACCEPTED,
    LeadOutcome.DECLINED,
    LeadOutcome.FOLLOW_UP,
    LeadOutcome.NOT_SUITABLE,
)


@dataclass(frozen=True)
class ConfirmedPurchase:
    """HQ's core system booked the lead as a purchase: the day and the catalogue product."""

    purchased_on: str
    product: str


@dataclass(frozen=True)
class LeadFacts:
    """What the report needs of a lead: its type (HQ's product family), catalogue products and
    HQ's confirmation that it became a purchase (None until HQ confirms)."""

    lead_type: str
    product_codes: tuple[str, ...]
    confirmed: ConfirmedPurchase | None = None


# (customer id, lead id) -> the lead's facts, None when the cache does not hold it (blocking)
LeadLookup = Callable[[str, str], LeadFacts | None]


def conversion_line(counts: Mapping[str, int]) -> dict[str, Any]:
    """Presented, each outcome, conversion = accepted / (presented - not suitable), confirmed
    (accepted and bought, by HQ) and confirmed_rate = confirmed / accepted."""
    presented = sum(counts.get(o, 0) for o in OUTCOMES)
    pitched = presented - counts.get(LeadOutcome.NOT_SUITABLE, 0)
    accepted = counts.get(LeadOutcome.ACCEPTED, 0)
    line: dict[str, Any] = {"presented": presented}
    line |= {str(o): counts.get(o, 0) for o in OUTCOMES}
    line |= {"conversion": share(accepted, pitched), CONFIRMED: counts.get(CONFIRMED, 0)}
    return line | {"confirmed_rate": share(counts.get(CONFIRMED, 0), accepted)}


@dataclass
class WorkTally:
    """Accumulates lead, hand-off and product-view figures day by day."""

    lookup: LeadLookup
    total: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    by_type: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_product: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_staff: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    handoffs_given: Counter[str] = field(default_factory=Counter)
    handoffs_taken: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    views: Counter[str] = field(default_factory=Counter)
    presented: Counter[str] = field(default_factory=Counter)
    views_by_staff: Counter[str] = field(default_factory=Counter)

    def add_records(self, records: Iterable[tuple[str, str, str, Mapping[str, Any]]]) -> None:
        """Count one day's HQ records: (idempotency key, kind, at, payload) in queue order."""
        given: dict[str, datetime] = {}
        for key, kind, at, payload in records:
            if kind == "lead_outcome":
                self._outcome(payload)
            elif kind == "handoff":
                self.handoffs_given[str(payload.get("staff_id"))] += 1
                given[key.split(":")[1]] = datetime.fromisoformat(at)
            elif kind == "handoff_accepted":
                since = given.pop(key.split(":")[1], None)
                if since is not None:
                    taken = (datetime.fromisoformat(at) - since).total_seconds()
                    self.handoffs_taken[str(payload.get("staff_id"))].append(taken)

    def _outcome(self, payload: Mapping[str, Any]) -> None:
        outcome = str(payload.get("outcome"))
        if payload.get("reason"):
            self.reasons[str(payload["reason"])] += 1
        facts = self.lookup(str(payload.get("customer_id")), str(payload.get("lead_id")))
        codes = facts.product_codes if facts and facts.product_codes else (UNKNOWN,)
        bought = facts.confirmed if facts and outcome == LeadOutcome.ACCEPTED else None
        counted = (outcome, CONFIRMED) if bought else (outcome,)
        for line in (
            self.total,
            self.by_type[facts.lead_type if facts else UNKNOWN],
            self.by_staff[str(payload.get("staff_id"))],
        ):
            line.update(counted)
        for code in codes:
            # A product's line confirms only the product bought (when the lead names it).
            mine = bought is not None and bought.product == code
            self.by_product[code].update(counted if mine else (outcome,))

    def add_views(self, views: Iterable[tuple[str, str, str, int]]) -> None:
        """Count one day's product views: (staff id, product code, mode, views)."""
        for staff, code, mode, count in views:
            self.views[mode] += count
            self.views_by_staff[staff] += count
            if mode == "presented":
                self.presented[code] += count

    def figures(self) -> dict[str, Any]:
        """The lead, hand-off and product-view parts of the report (no staff table)."""
        taken = [s for values in self.handoffs_taken.values() for s in values]
        given = sum(self.handoffs_given.values())
        return {
            "leads": {
                "total": conversion_line(self.total),
                "declined_by_reason": {str(r): self.reasons.get(r, 0) for r in DeclineReason},
                "by_lead_type": _lines(self.by_type),
                "by_product": _lines(self.by_product),
            },
            "handoffs": {
                "given": given,
                "accepted": len(taken),
                "not_accepted": given - len(taken),
                "taken_after": duration_summary(taken),
            },
            "product_views": {
                "by_mode": dict(sorted(self.views.items())),
                "presented_by_product": [
                    {"product_code": c, "presented": n} for c, n in sorted(self.presented.items())
                ],
            },
        }

    def staff_figures(self) -> dict[str, dict[str, Any]]:
        """Per staff member: leads, hand-offs given and taken, product views."""
        staff = set(self.by_staff) | set(self.handoffs_given) | set(self.handoffs_taken)
        return {
            s: {
                "leads": conversion_line(self.by_staff.get(s, Counter())),
                "handoffs_given": self.handoffs_given.get(s, 0),
                "handoffs_taken": duration_summary(self.handoffs_taken.get(s, [])),
                "product_views": self.views_by_staff.get(s, 0),
            }
            for s in staff | set(self.views_by_staff)
        }


def _lines(groups: Mapping[str, Counter[str]]) -> list[dict[str, Any]]:
    return [{"key": key} | conversion_line(counts) for key, counts in sorted(groups.items())]


def cache_lookup(cache: Callable[[], Any]) -> LeadLookup:
    """Look leads up in the customer cache (`cache()` gives it, or None before the first one)."""

    def lookup(customer_id: str, lead_id: str) -> LeadFacts | None:
        found = cache()
        customer = found.by_customer_id(customer_id) if found is not None else None
        for lead in (customer.record.get("leads") or []) if customer is not None else []:
            if lead.get("lead_id") == lead_id:
                codes = tuple(str(c) for c in lead.get("product_codes") or ())
                kind = str(lead.get("product_code") or UNKNOWN)
                return LeadFacts(kind, codes, _confirmed(lead.get("confirmed")))
        return None

    return lookup


def _confirmed(value: object) -> ConfirmedPurchase | None:
    """HQ's confirmation of a cached lead (checked at publish; anything else reads as none)."""
    if not isinstance(value, dict):
        return None
    day, product = value.get("purchased_on"), value.get("product")
    if isinstance(day, str) and isinstance(product, str):
        return ConfirmedPurchase(day, product)
    return None
