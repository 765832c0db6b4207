"""Colleagues in one timeline: who claimed, noted, handed off and recorded what, visit by visit.

A visit's timeline holds this visit and the customer's last visits at this branch (`[briefs]
timeline_visits` within `timeline_days`) in which colleagues worked with the customer: the notes
store keeps each entry under a blind index of the customer, so nothing else is decrypted to find
them. Each entry names the staff member and role from the staff store; notes follow the same
rules as the brief (a role whose brief hides `notes` sees none, a note for one role only that
role). The queue's own facts (called to a counter, finished) come from the visit's ticket. The
whole read runs in a worker thread and is audited like a brief view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from branch_hub.briefs import Note
from branch_hub.context import RequestContext
from branch_hub.lobby.actions import Actions
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.errors import UnknownVisit
from branch_hub.lobby.timeline_view import TimelineEntry, TimelineVisit, VisitTimeline
from branch_hub.lobby.visits import Visit
from branch_hub.queue import Ticket, TicketState
from branch_hub.vocabulary import TimelineKind

__all__ = ["Timeline", "TimelineEntry", "TimelineVisit", "VisitTimeline"]

# staff id -> (name, role); the staff store's accounts, never their PINs
StaffDirectory = Callable[[], Mapping[str, tuple[str, str]]]


@dataclass(frozen=True)
class _Reader:
    """What one timeline read knows: the caller's role and what it may see."""

    role: str
    sees_notes: bool
    sees_leads: bool
    staff: Mapping[str, tuple[str, str]]
    products: Mapping[str, str]

    def visible(self, note: Note) -> bool:
        if note.kind == TimelineKind.CLAIM:
            return True
        return self.sees_notes and note.for_role in (None, self.role)

    def entry(self, note: Note, at: datetime) -> TimelineEntry:
        name = self.staff.get(note.by, (None, None))[0]
        to_name, to_role = None, note.to_role
        if note.to_staff_id is not None:
            to_name, staff_role = self.staff.get(note.to_staff_id, (None, None))
            to_role = to_role or staff_role
        lead = note.lead_id if self.sees_leads else None
        return TimelineEntry(
            at=at,
            kind=TimelineKind(note.kind),
            by=note.by,
            name=name,
            role=note.role,
            text=note.text,
            for_role=note.for_role,
            to_name=to_name,
            to_role=to_role,
            lead_id=lead,
            product=self.products.get(lead) if lead else None,
            outcome=note.outcome,
        )


class Timeline:
    """Reads a visit's timeline for a staff member's role."""

    def __init__(self, lobby: Lobby, actions: Actions, staff: StaffDirectory) -> None:
        self.lobby = lobby
        self.actions = actions
        self.staff = staff
        self.notes = lobby.briefing.notes
        self.policy = lobby.briefing.policy
        settings = lobby.config.briefs
        self.last_visits = settings.timeline_visits
        self.days = settings.timeline_days
        self.counter_numbers = {c.id: c.number for c in lobby.config.counters}

    async def _run(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    def _today(self) -> date:
        return self.lobby.now().astimezone(self.lobby.zone).date()

    async def of_visit(self, caller: RequestContext, visit_id: str) -> VisitTimeline:
        """The timeline of one of today's visits, for the caller's role; audited."""
        today = self._today()
        visit: Visit | None = await self._run(lambda: self.lobby.visits.get(visit_id))
        if visit is None or visit.day != today.isoformat():
            raise UnknownVisit(f"no visit {visit_id} today")
        hidden = self.policy.hidden_for(str(caller.role))  # unknown roles fail closed
        record = await self.lobby.record_of(visit)
        leads = (record or {}).get("leads") or []
        products = {
            str(lead.get("lead_id")): str(lead.get("product", ""))
            for lead in leads
            if isinstance(lead, dict)
        }
        since = today - timedelta(days=self.days)

        def read() -> VisitTimeline:
            reader = _Reader(
                str(caller.role),
                "notes" not in hidden,
                "leads" not in hidden,
                self.staff(),
                products,
            )
            return self._read(visit, since, reader)

        timeline: VisitTimeline = await self._run(read)
        detail = {"visits": len(timeline.visits), "entries": timeline.entry_count}
        await self.actions.audit_view(caller, "timeline_view", visit, detail=detail)
        return timeline

    def _read(self, visit: Visit, since: date, reader: _Reader) -> VisitTimeline:
        """Group the store's entries by visit; keep this one and the last N others (blocking)."""
        by_visit: dict[str, list[Note]] = {visit.visit_id: []}
        for note in self.notes.history(visit.visit_id, visit.customer_id, since):
            by_visit.setdefault(note.visit_id, []).append(note)
        earlier = sorted(
            (v for v in by_visit if v != visit.visit_id),
            key=lambda v: max(n.at for n in by_visit[v]),
            reverse=True,
        )[: self.last_visits]
        visits = [self._visit(visit.visit_id, by_visit[visit.visit_id], reader, visit, True)]
        for other in earlier:
            stored = self.lobby.visits.get(other)
            visits.append(self._visit(other, by_visit[other], reader, stored, False))
        return VisitTimeline(visit.visit_id, tuple(visits))

    def _visit(
        self, visit_id: str, notes: list[Note], reader: _Reader, visit: Visit | None, current: bool
    ) -> TimelineVisit:
        zone = self.lobby.zone
        entries = [reader.entry(n, n.at.astimezone(zone)) for n in notes if reader.visible(n)]
        ticket = self._ticket(visit)
        if ticket is not None:
            entries += self._queue_entries(ticket)
        entries.sort(key=lambda e: e.at, reverse=True)
        if visit is not None:
            day = visit.day
        else:
            day = min(n.at for n in notes).astimezone(zone).date().isoformat()
        return TimelineVisit(
            visit_id=visit_id,
            day=day,
            current=current,
            ticket=ticket.number if ticket is not None else None,
            entries=tuple(entries),
        )

    def _ticket(self, visit: Visit | None) -> Ticket | None:
        if visit is None:
            return None
        ticket: Ticket | None = self.lobby.queue.stored_ticket(visit.ticket_id)
        return ticket

    def _queue_entries(self, ticket: Ticket) -> list[TimelineEntry]:
        zone = self.lobby.zone
        entries = []
        if ticket.called_at is not None:
            number = self.counter_numbers.get(ticket.counter_id or "")
            called = ticket.called_at.astimezone(zone)
            entries.append(TimelineEntry(called, TimelineKind.CALLED, counter_number=number))
        if ticket.state is TicketState.FINISHED and ticket.closed_at is not None:
            finished = ticket.closed_at.astimezone(zone)
            entries.append(TimelineEntry(finished, TimelineKind.FINISHED))
        return entries
