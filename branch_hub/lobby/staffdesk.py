"""Staff work with customers: today's visits, role briefs, claims, notes, outcomes.

Every change is one transaction (`Actions.run`): the notes store's record, its push event
(`claimed`, `note_added`, `lead_outcome`, naming tickets, visits and staff only), its
record for HQ and its audit entry commit together; a retry with the same request id gets the
first answer. Views of customer data are audited too. Hand-offs: `handoffdesk`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from branch_hub.briefs import LeadNotOffered, LeadNotSuitable, LeadVerdict
from branch_hub.context import RequestContext
from branch_hub.lobby.actions import Actions, ActionScope
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.errors import UnknownLead, UnknownVisit
from branch_hub.lobby.results import (
    Answer,
    Claimed,
    NoteAdded,
    OutcomeRecorded,
    VisitList,
    VisitListed,
)
from branch_hub.lobby.visits import Visit
from branch_hub.queue import Ticket, TicketState
from branch_hub.vocabulary import EventKind, LeadOutcome, Role

__all__ = ["StaffDesk"]

log = logging.getLogger("branch_hub.lobby.staff")
# Outcomes that mean the product was (or will be) pitched: refused for an unsuitable lead.
_PITCHED = frozenset({LeadOutcome.ACCEPTED, LeadOutcome.FOLLOW_UP})
_T = TypeVar("_T")


def _in_state(ticket: Ticket, state: str) -> bool:
    if state == "waiting":
        return ticket.state in (TicketState.WAITING, TicketState.PARKED)
    if state == "serving":
        return ticket.state is TicketState.CALLED
    return True


class StaffDesk:
    """What staff on tablets and counters do with customers; the API calls it after its checks."""

    def __init__(self, lobby: Lobby, actions: Actions) -> None:
        self.lobby = lobby
        self.actions = actions
        self.notes = lobby.briefing.notes

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    def today(self) -> date:
        """The business day in the branch's time zone."""
        return self.lobby.now().astimezone(self.lobby.zone).date()

    async def _visit(self, visit_id: str) -> Visit:
        visit = await self._run(lambda: self.lobby.visits.get(visit_id))
        if visit is None or visit.day != self.today().isoformat():
            raise UnknownVisit(f"no visit {visit_id} today")
        return visit

    # -- views -------------------------------------------------------------------------------
    async def visits(self, caller: RequestContext, state: str) -> VisitList:
        """Today's visits, filtered by ticket state (waiting, serving or all)."""
        day = self.today().isoformat()

        def read() -> list[tuple[Visit, Ticket, str | None]]:
            # One worker-thread hop for every database read of the list (never on the loop).
            tickets = {t.id: t for t in self.lobby.queue.tickets()}
            rows = []
            for visit in self.lobby.visits.of_day(day):
                ticket = tickets.get(visit.ticket_id)
                if ticket is not None and _in_state(ticket, state):
                    rows.append((visit, ticket, self.lobby.briefing.claimed_by(visit.visit_id)))
            return rows

        handoffs = await self._run(lambda: self.lobby.handoffs.of_day(day))
        listed = []
        for visit, ticket, claimed_by in await self._run(read):
            greeting = self.lobby.briefing.greeting(await self.lobby.record_of(visit))
            salutation = greeting["salutation_zh"] if greeting else None
            handoff = handoffs.get(visit.visit_id)
            listed.append(VisitListed(visit, ticket, salutation, claimed_by, handoff))
        # Every visitor's salutation and tier reach this tablet: a view of customer data.
        recognised = sum(1 for v in listed if v.visit.customer_id is not None)
        detail = {"state": state, "visits": len(listed), "recognised": recognised}
        await self.actions.audit_view(caller, "lobby_list_view", None, detail=detail)
        return VisitList(tuple(listed))

    async def brief(self, caller: RequestContext, visit_id: str) -> dict[str, Any]:
        """The visit's brief for the caller's role (its notes read in a worker); audited."""
        visit = await self._visit(visit_id)
        record = await self.lobby.record_of(visit)
        await self.actions.audit_view(caller, "brief_view", visit)
        today = self.today()
        return await self._run(
            lambda: self.lobby.briefing.brief(
                record,
                role=str(caller.role),
                visit_id=visit.visit_id,
                today=today,
                customer_id=visit.customer_id,
            )
        )

    # -- changes -----------------------------------------------------------------------------
    async def claim(
        self, caller: RequestContext, visit_id: str, request_id: str | None = None
    ) -> Answer:
        """Claim the visit for the caller (exclusive)."""
        visit = await self._visit(visit_id)
        staff, role = str(caller.staff_id), str(caller.role)

        def work(scope: ActionScope) -> Claimed:
            self.notes.claim(
                visit.visit_id,
                staff_id=staff,
                role=role,
                at=scope.now,
                customer_id=visit.customer_id,
            )
            scope.event(EventKind.CLAIMED, {"visit_id": visit.visit_id, "by": staff, "role": role})
            scope.to_hq("claim", visit, {"staff_id": staff}, f"claim:{visit.visit_id}:{staff}")
            scope.audit("claim", visit)
            return Claimed(visit.visit_id, staff)

        return await self.actions.run(caller, request_id, f"claim:{visit_id}", work)

    async def add_note(
        self,
        caller: RequestContext,
        visit_id: str,
        text: str,
        for_role: Role | None,
        request_id: str | None = None,
    ) -> Answer:
        """Add a note about the visit for colleagues (its text stays out of the event log)."""
        visit = await self._visit(visit_id)

        def work(scope: ActionScope) -> NoteAdded:
            entry = self.notes.add_note(
                visit.visit_id,
                by=str(caller.staff_id),
                role=str(caller.role),
                text=text,
                customer_id=visit.customer_id,
                for_role=for_role,
                at=scope.now,
            )
            data = {"visit_id": visit.visit_id, "by": caller.staff_id, "for_role": for_role}
            scope.event(EventKind.NOTE_ADDED, data)
            payload = {"staff_id": str(caller.staff_id)}
            scope.to_hq("note", visit, payload, f"note:{entry.note_id}")
            scope.audit("note", visit)
            return NoteAdded(visit.visit_id, entry)

        return await self.actions.run(caller, request_id, f"note:{visit_id}", work)

    async def lead_outcome(
        self,
        caller: RequestContext,
        visit_id: str,
        lead_id: str,
        outcome: LeadOutcome,
        note: str | None,
        request_id: str | None = None,
        *,
        reason: str | None = None,
        follow_up_on: str | None = None,
    ) -> Answer:
        """Record what happened with one of the customer's leads (not one held back as declined)."""
        visit = await self._visit(visit_id)
        record = await self.lobby.record_of(visit)
        leads = {str(lead.get("lead_id")) for lead in (record or {}).get("leads") or []}
        if lead_id not in leads:
            raise UnknownLead(f"no lead {lead_id} for this customer")
        by, today = str(caller.staff_id), self.today()
        briefing = self.lobby.briefing

        def work(scope: ActionScope) -> OutcomeRecorded:
            # Checked inside the action, so the retry of a decline gets its first answer.
            if lead_id in briefing.not_offered(record, visit.customer_id, today):
                raise LeadNotOffered(lead_id)
            if outcome in _PITCHED:
                _check_suitable(briefing.lead_verdict(record, lead_id, today), lead_id)
            entry = self.notes.record_outcome(
                visit.visit_id,
                lead_id,
                outcome,
                by=by,
                role=str(caller.role),
                note=note,
                customer_id=visit.customer_id,
                reason=reason,
                follow_up_on=follow_up_on,
                follow_up_max_days=briefing.policy.follow_up_max_days,
                at=scope.now,
            )
            done = OutcomeRecorded(
                visit.visit_id, lead_id, outcome, by, entry.reason, entry.follow_up_on
            )
            scope.event(EventKind.LEAD_OUTCOME, done.event())
            payload: dict[str, str | None] = {"staff_id": by, "lead_id": lead_id}
            payload |= {"outcome": outcome, "reason": entry.reason}
            payload["follow_up_on"] = entry.follow_up_on
            scope.to_hq("lead_outcome", visit, payload, f"outcome:{visit.visit_id}:{lead_id}")
            scope.audit("outcome", visit, detail={"lead_id": lead_id, "outcome": outcome})
            return done

        action = f"outcome:{visit_id}:{lead_id}"
        try:
            return await self.actions.run(caller, request_id, action, work)
        except LeadNotSuitable as exc:  # the refusal rolled back: audit it in its own entry
            await self._audit_refusal(caller, visit, outcome, exc)
            raise

    async def _audit_refusal(
        self, caller: RequestContext, visit: Visit, outcome: LeadOutcome, exc: LeadNotSuitable
    ) -> None:
        detail = {
            "lead_id": exc.lead_id,
            "outcome": str(outcome),
            "product_codes": ",".join(exc.codes),
            "product_risk": ",".join(exc.risks),
            "reason": exc.reason,
        }
        await self.actions.audit_view(caller, "suitability_refused", visit, detail=detail)


def _check_suitable(verdict: LeadVerdict | None, lead_id: str) -> None:
    """Refuse pitching a lead none of whose products suits the customer today."""
    if verdict is None or verdict.not_suitable_reason is None:
        return
    refused = verdict.refused()
    codes = tuple(str(p["code"]) for p in refused)
    risks = tuple(str(p["risk"]) for p in refused)
    raise LeadNotSuitable(lead_id, str(verdict.not_suitable_reason), codes, risks)
