"""Answers a staff tablet or counter reads: login, visits, briefs, results of commands, dashboard.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else. Briefs and notes are in `_brief_models`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._handoff_models import VisitHandoff
from branch_hub.client._wire import Reader
from branch_hub.vocabulary import CustomerLocation, Role

__all__ = [
    "ClaimResult",
    "CounterLoad",
    "Dashboard",
    "HandoffResult",
    "LoginResult",
    "ServedTicket",
    "ServiceLoad",
    "StaffTicket",
    "TicketResult",
    "VisitList",
    "VisitRow",
]


@dataclass(frozen=True)
class LoginResult:
    """POST /login's answer: the session token (never in a repr) and who logged in."""

    token: str = field(repr=False)
    staff_id: str
    role: Role
    name: str
    expires_in_s: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "token": self.token,
            "staff_id": self.staff_id,
            "role": self.role,
            "name": self.name,
            "expires_in_s": self.expires_in_s,
        }

    @classmethod
    def from_wire(cls, body: object) -> LoginResult:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "login answer")
        return cls(
            r.text("token"),
            r.text("staff_id"),
            r.enum("role", Role),
            r.text("name"),
            r.whole("expires_in_s"),
        )


@dataclass(frozen=True)
class StaffTicket:
    """A ticket as staff lists show it (state: waiting, called, parked, finished, ...)."""

    id: str
    number: str
    service: str
    state: str
    counter_id: str | None
    issued_at: str
    called_at: str | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "id": self.id,
            "number": self.number,
            "service": self.service,
            "state": self.state,
            "counter_id": self.counter_id,
            "issued_at": self.issued_at,
            "called_at": self.called_at,
        }

    @staticmethod
    def _fields(r: Reader) -> tuple[str, str, str, str, str | None, str, str | None]:
        return (
            r.text("id"),
            r.text("number"),
            r.text("service"),
            r.text("state"),
            r.opt_text("counter_id"),
            r.text("issued_at"),
            r.opt_text("called_at"),
        )

    @classmethod
    def from_wire(cls, body: object) -> StaffTicket:
        """Parse; raise WireError on a wrong shape."""
        return cls(*cls._fields(Reader(body, "ticket")))


@dataclass(frozen=True)
class ServedTicket(StaffTicket):
    """A ticket in the answer to a call or a ticket operation: also names its visit."""

    visit_id: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {**super().to_wire(), "visit_id": self.visit_id}

    @classmethod
    def from_wire(cls, body: object) -> ServedTicket:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "ticket")
        return cls(*cls._fields(r), r.opt_text("visit_id"))


@dataclass(frozen=True)
class TicketResult:
    """The answer to call-next and the ticket operations (ticket None: nobody is waiting)."""

    ticket: ServedTicket | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"ticket": self.ticket.to_wire() if self.ticket else None}

    @classmethod
    def from_wire(cls, body: object) -> TicketResult:
        """Parse; raise WireError on a wrong shape."""
        raw = Reader(body, "ticket answer").data.get("ticket")
        return cls(None if raw is None else ServedTicket.from_wire(raw))


@dataclass(frozen=True)
class VisitRow:
    """One of today's visits in GET /visits."""

    visit_id: str
    ticket: StaffTicket
    tier: str | None
    priority: bool
    salutation_zh: str | None
    claimed_by: str | None
    arrived_at: str
    walk_in: bool
    location: CustomerLocation | None = None
    handoff: VisitHandoff | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "ticket": self.ticket.to_wire(),
            "tier": self.tier,
            "priority": self.priority,
            "salutation_zh": self.salutation_zh,
            "claimed_by": self.claimed_by,
            "arrived_at": self.arrived_at,
            "walk_in": self.walk_in,
            "location": self.location,
            "handoff": self.handoff.to_wire() if self.handoff else None,
        }

    @classmethod
    def from_wire(cls, body: object) -> VisitRow:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "visit")
        handoff = r.data.get("handoff")
        return cls(
            r.text("visit_id"),
            StaffTicket.from_wire(r.data.get("ticket")),
            r.opt_text("tier"),
            r.flag("priority"),
            r.opt_text("salutation_zh"),
            r.opt_text("claimed_by"),
            r.text("arrived_at"),
            r.flag("walk_in"),
            r.opt_enum("location", CustomerLocation),
            None if handoff is None else VisitHandoff.from_wire(handoff),
        )


@dataclass(frozen=True)
class VisitList:
    """GET /visits: today's visits."""

    visits: tuple[VisitRow, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"visits": [v.to_wire() for v in self.visits]}

    @classmethod
    def from_wire(cls, body: object) -> VisitList:
        """Parse; raise WireError on a wrong shape."""
        return cls(Reader(body, "visits").items("visits", VisitRow.from_wire))


@dataclass(frozen=True)
class ClaimResult:
    """POST /visits/{id}/claim's answer."""

    visit_id: str
    claimed_by: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"visit_id": self.visit_id, "claimed_by": self.claimed_by}

    @classmethod
    def from_wire(cls, body: object) -> ClaimResult:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "claim answer")
        return cls(r.text("visit_id"), r.text("claimed_by"))


@dataclass(frozen=True)
class HandoffResult:
    """POST /visits/{id}/handoff's answer (also the `handoff` event's data)."""

    visit_id: str
    by: str
    to_staff_id: str | None
    to_role: Role | None
    location: CustomerLocation | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "by": self.by,
            "to_staff_id": self.to_staff_id,
            "to_role": self.to_role,
            "location": self.location,
        }

    @classmethod
    def from_wire(cls, body: object) -> HandoffResult:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "handoff answer")
        return cls(
            r.text("visit_id"),
            r.text("by"),
            r.opt_text("to_staff_id"),
            r.opt_enum("to_role", Role),
            r.opt_enum("location", CustomerLocation),
        )


@dataclass(frozen=True)
class ServiceLoad:
    """One service's line on the dashboard."""

    service: str
    waiting_priority: int
    waiting_ordinary: int
    longest_wait_min: float
    median_service_min: float
    p80_service_min: float

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "service": self.service,
            "waiting_priority": self.waiting_priority,
            "waiting_ordinary": self.waiting_ordinary,
            "longest_wait_min": self.longest_wait_min,
            "median_service_min": self.median_service_min,
            "p80_service_min": self.p80_service_min,
        }

    @classmethod
    def from_wire(cls, body: object) -> ServiceLoad:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "service load")
        return cls(
            r.text("service"),
            r.whole("waiting_priority"),
            r.whole("waiting_ordinary"),
            r.number("longest_wait_min"),
            r.number("median_service_min"),
            r.number("p80_service_min"),
        )


@dataclass(frozen=True)
class CounterLoad:
    """One counter's line on the dashboard."""

    counter_id: str
    number: int
    open: bool
    current: StaffTicket | None
    reserved_waiting: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "counter_id": self.counter_id,
            "number": self.number,
            "open": self.open,
            "current": self.current.to_wire() if self.current else None,
            "reserved_waiting": self.reserved_waiting,
        }

    @classmethod
    def from_wire(cls, body: object) -> CounterLoad:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "counter")
        current = r.data.get("current")
        return cls(
            r.text("counter_id"),
            r.whole("number"),
            r.flag("open"),
            None if current is None else StaffTicket.from_wire(current),
            r.whole("reserved_waiting"),
        )


@dataclass(frozen=True)
class Dashboard:
    """GET /queue/dashboard: queues, counters, current calls, waiting counts per service."""

    at: str
    day: str | None
    services: tuple[ServiceLoad, ...]
    counters: tuple[CounterLoad, ...]
    current_calls: tuple[StaffTicket, ...]
    parked: int
    longest_wait_min: float
    waiting: dict[str, int]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "at": self.at,
            "day": self.day,
            "services": [s.to_wire() for s in self.services],
            "counters": [c.to_wire() for c in self.counters],
            "current_calls": [t.to_wire() for t in self.current_calls],
            "parked": self.parked,
            "longest_wait_min": self.longest_wait_min,
            "waiting": dict(self.waiting),
        }

    @classmethod
    def from_wire(cls, body: object) -> Dashboard:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "dashboard")
        counts = r.obj("waiting")
        waiting = {key: counts.whole(key) for key in counts.data}
        return cls(
            r.text("at"),
            r.opt_text("day"),
            r.items("services", ServiceLoad.from_wire),
            r.items("counters", CounterLoad.from_wire),
            r.items("current_calls", StaffTicket.from_wire),
            r.whole("parked"),
            r.number("longest_wait_min"),
            waiting,
        )
