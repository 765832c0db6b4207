"""What the lobby's commands answer: typed results, each with the wire form the API sends.

A retried command (same device, same request id) gets `Replayed`: the first answer exactly as it
was sent, kept in the hub's database with the action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from branch_hub.briefs import Note
from branch_hub.config import BranchConfig
from branch_hub.lobby.handoffs import PendingHandoff
from branch_hub.lobby.visits import Visit
from branch_hub.lobby.wire import dashboard_wire, staff_ticket, ticket_view
from branch_hub.queue import Dashboard, Ticket
from branch_hub.vocabulary import LeadOutcome, Role

__all__ = [
    "Answer",
    "Claimed",
    "CounterTicket",
    "DashboardView",
    "HandedOff",
    "NoteAdded",
    "OutcomeRecorded",
    "QueueTargets",
    "Replayed",
    "VisitList",
    "VisitListed",
]


class Answer(Protocol):
    """A command's result as the device receives it."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent to the device."""
        ...


@dataclass(frozen=True)
class Replayed:
    """The first answer to a repeated request, as it was sent then."""

    wire: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The kept answer."""
        return dict(self.wire)


@dataclass(frozen=True)
class Claimed:
    """A visit claimed by a staff member."""

    visit_id: str
    claimed_by: str

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"visit_id": self.visit_id, "claimed_by": self.claimed_by}


@dataclass(frozen=True)
class NoteAdded:
    """A note added to a visit (its text goes to the brief, never to the event log)."""

    visit_id: str
    note: Note

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"visit_id": self.visit_id, "note": self.note.to_brief()}


@dataclass(frozen=True)
class HandedOff:
    """A customer handed to a colleague or a role."""

    visit_id: str
    by: str
    to_staff_id: str | None
    to_role: Role | None

    def to_wire(self) -> dict[str, Any]:
        """JSON form (also the push event's data)."""
        return {
            "visit_id": self.visit_id,
            "by": self.by,
            "to_staff_id": self.to_staff_id,
            "to_role": self.to_role,
        }


@dataclass(frozen=True)
class OutcomeRecorded:
    """A lead's outcome recorded for a visit."""

    visit_id: str
    lead_id: str
    outcome: LeadOutcome
    by: str
    reason: str | None = None
    follow_up_on: str | None = None

    def event(self) -> dict[str, Any]:
        """The push event's data: who recorded what on which lead (reason and date stay out)."""
        return {
            "visit_id": self.visit_id,
            "lead_id": self.lead_id,
            "outcome": self.outcome,
            "by": self.by,
        }

    def to_wire(self) -> dict[str, Any]:
        """JSON form: the event's fields with the decline reason and the follow-up date."""
        return self.event() | {"reason": self.reason, "follow_up_on": self.follow_up_on}


@dataclass(frozen=True)
class CounterTicket:
    """The ticket a counter operation acted on (None: nobody was waiting)."""

    ticket: Ticket | None

    def to_wire(self) -> dict[str, Any]:
        """JSON form: the ticket as staff lists show it, with its visit."""
        return staff_ticket(self.ticket)


@dataclass(frozen=True)
class VisitListed:
    """One of today's visits as the lobby list shows it (references and a salutation only)."""

    visit: Visit
    ticket: Ticket
    salutation_zh: str | None
    claimed_by: str | None
    handoff: PendingHandoff | None = None

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        visit = self.visit
        handoff = self.handoff
        return {
            "visit_id": visit.visit_id,
            "ticket": ticket_view(self.ticket),
            "tier": visit.tier,
            "priority": visit.priority,
            "salutation_zh": self.salutation_zh,
            "claimed_by": self.claimed_by,
            "arrived_at": visit.arrived_at,
            "walk_in": visit.walk_in,
            "location": handoff.location if handoff else None,
            "handoff": handoff.to_wire() if handoff else None,
        }


@dataclass(frozen=True)
class VisitList:
    """Today's visits in arrival order."""

    visits: tuple[VisitListed, ...]

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"visits": [v.to_wire() for v in self.visits]}


@dataclass(frozen=True)
class DashboardView:
    """The lobby manager's queue dashboard with the waiting counts."""

    board: Dashboard

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return dashboard_wire(self.board) | {"waiting": dict(self.board.waiting)}


@dataclass(frozen=True)
class QueueTargets:
    """Where a counter may send a ticket: the branch's services and counters, as they are now."""

    config: BranchConfig
    waiting: dict[str, int]
    open_counters: frozenset[str]
    serving: frozenset[str]

    def to_wire(self) -> dict[str, Any]:
        """JSON form: names in both languages, waiting counts, open and busy counters."""
        services = [
            {
                "code": s.code,
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "waiting": self.waiting.get(s.code, 0),
            }
            for s in self.config.services
        ]
        counters = [
            {
                "counter_id": c.id,
                "number": c.number,
                "name_zh": c.name_zh,
                "name_en": c.name_en or f"Counter {c.number}",
                "services": list(c.services),
                "open": c.id in self.open_counters,
                "serving": c.id in self.serving,
            }
            for c in self.config.counters
        ]
        return {"services": services, "counters": counters}
