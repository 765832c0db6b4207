"""A visit's timeline as the hub answers it: visits, newest first, each with its entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from branch_hub.vocabulary import TimelineKind

__all__ = ["TimelineEntry", "TimelineVisit", "VisitTimeline"]


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened in a visit: who (name and role, never a PIN), when and what."""

    at: datetime  # in the branch's time zone
    kind: TimelineKind
    by: str | None = None  # staff id; None for the queue's own facts
    name: str | None = None  # the staff member's name from the staff store
    role: str | None = None
    text: str = ""
    for_role: str | None = None  # a note meant for one role
    to_name: str | None = None  # hand-offs
    to_role: str | None = None  # hand-offs
    lead_id: str | None = None  # outcomes (None where the role may not see leads)
    product: str | None = None  # outcomes: the lead's product, where the role sees leads
    outcome: str | None = None  # outcomes
    counter_number: int | None = None  # called: the counter's number

    def to_wire(self) -> dict[str, Any]:
        """The JSON object: every key, null where it does not apply."""
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "kind": self.kind,
            "by": self.by,
            "name": self.name,
            "role": self.role,
            "text": self.text,
            "for_role": self.for_role,
            "to_name": self.to_name,
            "to_role": self.to_role,
            "lead_id": self.lead_id,
            "product": self.product,
            "outcome": self.outcome,
            "counter_number": self.counter_number,
        }


@dataclass(frozen=True)
class TimelineVisit:
    """One visit of the customer at this branch with its entries, newest first."""

    visit_id: str
    day: str
    current: bool
    ticket: str | None
    entries: tuple[TimelineEntry, ...]

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "visit_id": self.visit_id,
            "day": self.day,
            "current": self.current,
            "ticket": self.ticket,
            "entries": [e.to_wire() for e in self.entries],
        }


@dataclass(frozen=True)
class VisitTimeline:
    """This visit first, then the customer's earlier visits here, the latest first."""

    visit_id: str
    visits: tuple[TimelineVisit, ...]

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"visit_id": self.visit_id, "visits": [v.to_wire() for v in self.visits]}

    @property
    def entry_count(self) -> int:
        """How many entries in all (for the audit entry)."""
        return sum(len(v.entries) for v in self.visits)
