"""A visit's timeline: this visit and the customer's last visits here, colleagues by name and role.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._wire import Reader
from branch_hub.vocabulary import LeadOutcome, Role, TimelineKind

__all__ = ["TimelineEntry", "TimelineVisit", "VisitTimeline"]


@dataclass(frozen=True)
class TimelineEntry:
    """A claim, a note, a hand-off, a lead outcome or a queue fact, with who did it."""

    at: str  # ISO time in the branch's time zone
    kind: TimelineKind
    by: str | None  # staff id; null for the queue's own facts
    name: str | None  # the staff member's name
    role: Role | None
    text: str
    for_role: Role | None  # a note meant for one role
    to_name: str | None  # hand-offs to a colleague
    to_role: Role | None  # hand-offs
    lead_id: str | None  # outcomes (null where the role may not see leads)
    product: str | None  # outcomes: the lead's product
    outcome: LeadOutcome | None  # outcomes
    counter_number: int | None  # called: the counter's number

    def to_wire(self) -> dict[str, Any]:
        """The JSON object: every key, null where it does not apply."""
        return {
            "at": self.at,
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

    @classmethod
    def from_wire(cls, body: object) -> TimelineEntry:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "timeline entry")
        return cls(
            r.text("at"),
            r.enum("kind", TimelineKind),
            r.opt_text("by"),
            r.opt_text("name"),
            r.opt_enum("role", Role),
            r.text("text"),
            r.opt_enum("for_role", Role),
            r.opt_text("to_name"),
            r.opt_enum("to_role", Role),
            r.opt_text("lead_id"),
            r.opt_text("product"),
            r.opt_enum("outcome", LeadOutcome),
            r.opt_whole("counter_number"),
        )

    @property
    def day(self) -> str:
        """The entry's date (YYYY-MM-DD, branch time)."""
        return self.at[:10]

    @property
    def clock(self) -> str:
        """The entry's time of day (HH:MM, branch time)."""
        return self.at[11:16]


@dataclass(frozen=True)
class TimelineVisit:
    """One visit: its day, its ticket and its entries, newest first."""

    visit_id: str
    day: str
    current: bool
    ticket: str | None
    entries: tuple[TimelineEntry, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "day": self.day,
            "current": self.current,
            "ticket": self.ticket,
            "entries": [e.to_wire() for e in self.entries],
        }

    @classmethod
    def from_wire(cls, body: object) -> TimelineVisit:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "timeline visit")
        return cls(
            r.text("visit_id"),
            r.text("day"),
            r.flag("current"),
            r.opt_text("ticket"),
            r.items("entries", TimelineEntry.from_wire),
        )


@dataclass(frozen=True)
class VisitTimeline:
    """GET /visits/{id}/timeline's answer: this visit first, then earlier ones, latest first."""

    visit_id: str
    visits: tuple[TimelineVisit, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"visit_id": self.visit_id, "visits": [v.to_wire() for v in self.visits]}

    @classmethod
    def from_wire(cls, body: object) -> VisitTimeline:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "timeline")
        return cls(r.text("visit_id"), r.items("visits", TimelineVisit.from_wire))
