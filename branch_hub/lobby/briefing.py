"""The lobby's seam to `branch_hub.briefs` (H5b): greetings, role briefs, notes and claims.

Everything personal is computed in memory from the decrypted cache record; notes, claims,
hand-offs and outcomes live in the briefs package's sealed `VisitNotes` store. The arrival
event carries only `summary()`: lead count, top score and event kinds, no names or numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.atrest import AtRestCipher
from branch_hub.briefs import (
    AlreadyClaimed,
    Decline,
    InvalidEntry,
    LeadVerdict,
    NotClaimHolder,
    Note,
    ProductFacts,
    RedactionPolicy,
    VisitNotes,
    build_brief,
    customer_events,
    greeting,
    judge_lead,
    not_offered,
    recent_declines,
    sort_leads,
)
from branch_hub.config import BranchConfig
from branch_hub.database import HubDatabase

__all__ = ["AlreadyClaimed", "Briefing", "InvalidEntry", "NotClaimHolder"]

_SCORES = ("high", "mid", "low")


class Briefing:
    """Greeting, brief and colleagues' notes for visits."""

    def __init__(
        self, config: BranchConfig, notes_db: HubDatabase | Path, cipher: AtRestCipher
    ) -> None:
        self.config = config
        self.policy = RedactionPolicy.from_config(config)
        self.notes = VisitNotes(notes_db, cipher, timezone=config.branch.timezone)
        # The hub's applied catalogue by product code; the hub sets it once it has one.
        self.catalogue: Callable[[], Mapping[str, ProductFacts] | None] = lambda: None

    def close(self) -> None:
        """Close the notes store."""
        self.notes.close()

    # -- customer-facing -------------------------------------------------------------------
    def greeting(self, customer: dict[str, Any] | None) -> dict[str, Any] | None:
        """The kiosk greeting for a recognised customer (tier words only); None for a walk-in."""
        if customer is None:
            return None
        return greeting(customer, self.config)

    def summary(self, customer: dict[str, Any] | None, today: date) -> dict[str, Any]:
        """What the arrival event says beyond the ticket: counts and kinds, no personal data."""
        if customer is None:
            return {"leads": 0, "top_score": None, "events": []}
        leads = [lead for lead in customer.get("leads") or [] if isinstance(lead, dict)]
        scores = {str(lead.get("score")) for lead in leads}
        events = customer_events(
            customer,
            today,
            self.config.branch.region_code,
            birthday_window_days=self.policy.birthday_window_days,
            long_absence_days=self.policy.long_absence_days,
        )
        return {
            "leads": len(leads),
            "top_score": next((s for s in _SCORES if s in scores), None),
            "events": [str(e["kind"]) for e in events],
        }

    # -- staff-facing ----------------------------------------------------------------------
    def brief(
        self,
        customer: dict[str, Any] | None,
        *,
        role: str,
        visit_id: str,
        today: date,
        customer_id: str | None,
    ) -> dict[str, Any]:
        """The brief for one role, computed in memory."""
        notes = self.notes.notes_for(visit_id, today, customer_id=customer_id)
        return build_brief(
            customer,
            history=self.outcome_history(customer_id, today),
            role=role,
            visit_id=visit_id,
            today=today,
            branch=self.config,
            notes=notes,
            claimed_by=self.notes.claimed_by(visit_id),
            policy=self.policy,
            catalogue=self.catalogue(),
        )

    def outcome_history(self, customer_id: str | None, today: date) -> list[Note]:
        """This branch's recorded lead outcomes of the customer within the re-pitch window."""
        days = self.policy.do_not_repitch_days
        if customer_id is None or days <= 0:
            return []
        return self.notes.outcomes_since(customer_id, today - timedelta(days=days))

    def not_offered(
        self, customer: dict[str, Any] | None, customer_id: str | None, today: date
    ) -> dict[str, Decline]:
        """The customer's leads held back as recently declined, by lead id."""
        if customer is None:
            return {}
        zone = ZoneInfo(self.config.branch.timezone)
        history = self.outcome_history(customer_id, today)
        declines = recent_declines(customer, history, today, self.policy.do_not_repitch_days, zone)
        return not_offered(sort_leads(customer.get("leads"), today), declines)

    def lead_verdict(
        self, customer: dict[str, Any] | None, lead_id: str, today: date
    ) -> LeadVerdict | None:
        """The lead's products judged for the customer today (None: no such lead)."""
        leads = (customer or {}).get("leads") or []
        lead = next((x for x in leads if isinstance(x, dict) and x.get("lead_id") == lead_id), None)
        if customer is None or lead is None:
            return None
        return judge_lead(lead, self.catalogue(), customer.get("risk_assessment"), today)

    def claimed_by(self, visit_id: str) -> str | None:
        """Who has claimed the visit, or None."""
        return self.notes.claimed_by(visit_id)
