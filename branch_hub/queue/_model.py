"""Values of the queue: tickets, actors, domain events, estimates and the dashboard.

Everything here is an immutable value; the engine replaces a ticket on every change.
The queue keeps no personal data: a ticket knows its number, services, priority class
and an opaque visit reference, nothing that names a customer, and not the customer's tier
(which only chose the priority class at issue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import orjson

from branch_hub.queue._errors import QueueError
from branch_hub.queue._estimate import WaitRange

__all__ = [
    "Actor",
    "CounterView",
    "Dashboard",
    "EventKind",
    "Outcome",
    "QueueEvent",
    "ServiceLoad",
    "Ticket",
    "TicketState",
    "WaitEstimate",
]


class TicketState(StrEnum):
    """Where a ticket is in its life."""

    WAITING = "waiting"
    CALLED = "called"
    PARKED = "parked"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


TERMINAL_STATES = frozenset({TicketState.FINISHED, TicketState.NO_SHOW, TicketState.CANCELLED})


class EventKind(StrEnum):
    """Kinds of domain event; every state change produces exactly one per ticket touched."""

    TICKET_ISSUED = "ticket_issued"
    CALLED = "called"
    RECALLED = "recalled"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    PARKED = "parked"
    RESUMED = "resumed"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    COUNTER_OPENED = "counter_opened"
    COUNTER_CLOSED = "counter_closed"
    IDENTIFIED = "identified"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: the staff member (None for the self-service kiosk) and the device used."""

    staff_id: str | None
    device_id: str


@dataclass(frozen=True, slots=True)
class Ticket:
    """One visit's ticket; it keeps its number through every service of the visit."""

    id: str
    number: str
    day: date
    services: tuple[str, ...]
    step: int
    priority: bool
    appointment: bool
    visit_ref: str
    state: TicketState
    issued_at: datetime
    entered_at: datetime
    entry_seq: int
    counter_id: str | None = None
    called_at: datetime | None = None
    target_counter: str | None = None
    recalls: int = 0
    no_show_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def service(self) -> str:
        """Return the service the ticket is queued for or being served in now."""
        return self.services[self.step]

    @property
    def is_terminal(self) -> bool:
        """Return whether the ticket is finished, a no-show or cancelled."""
        return self.state in TERMINAL_STATES

    @property
    def ordinal(self) -> int:
        """Return the number without its prefix letter (A012 -> 12)."""
        return int(self.number[1:])

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of this ticket."""
        return {
            "id": self.id,
            "number": self.number,
            "day": self.day.isoformat(),
            "services": list(self.services),
            "step": self.step,
            "priority": self.priority,
            "appointment": self.appointment,
            "visit_ref": self.visit_ref,
            "state": self.state.value,
            "issued_at": self.issued_at.isoformat(),
            "entered_at": self.entered_at.isoformat(),
            "entry_seq": self.entry_seq,
            "counter_id": self.counter_id,
            "called_at": _iso(self.called_at),
            "target_counter": self.target_counter,
            "recalls": self.recalls,
            "no_show_at": _iso(self.no_show_at),
            "closed_at": _iso(self.closed_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Ticket:
        """Rebuild a ticket from `to_dict` output, raising QueueError on a malformed record."""
        try:
            return cls(
                id=str(data["id"]),
                number=str(data["number"]),
                day=date.fromisoformat(data["day"]),
                services=tuple(str(s) for s in data["services"]),
                step=int(data["step"]),
                priority=bool(data["priority"]),
                appointment=bool(data["appointment"]),
                visit_ref=str(data["visit_ref"]),
                state=TicketState(data["state"]),
                issued_at=datetime.fromisoformat(data["issued_at"]),
                entered_at=datetime.fromisoformat(data["entered_at"]),
                entry_seq=int(data["entry_seq"]),
                counter_id=data["counter_id"],
                called_at=_parse_iso(data["called_at"]),
                target_counter=data["target_counter"],
                recalls=int(data["recalls"]),
                no_show_at=_parse_iso(data["no_show_at"]),
                closed_at=_parse_iso(data["closed_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise QueueError(f"malformed ticket record: {exc}") from exc


Detail = Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class QueueEvent:
    """A domain event: what changed, when, by whom; `seq` is set once the store commits it."""

    kind: EventKind
    at: datetime
    day: date
    ticket: Ticket | None
    actor: Actor | None
    counter_id: str | None = None
    detail: Detail = field(default_factory=dict)
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of this event (the push layer sends this)."""
        return {
            "seq": self.seq,
            "kind": self.kind.value,
            "at": self.at.isoformat(),
            "day": self.day.isoformat(),
            "ticket": self.ticket.to_dict() if self.ticket else None,
            "actor": (
                {"staff_id": self.actor.staff_id, "device_id": self.actor.device_id}
                if self.actor
                else None
            ),
            "counter_id": self.counter_id,
            "detail": dict(self.detail),
        }

    def to_json(self) -> bytes:
        """Serialise to compact JSON bytes."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes | str, seq: int | None = None) -> QueueEvent:
        """Parse `to_json` output, raising QueueError on a malformed record."""
        try:
            data = orjson.loads(raw)
            actor = data["actor"]
            return cls(
                kind=EventKind(data["kind"]),
                at=datetime.fromisoformat(data["at"]),
                day=date.fromisoformat(data["day"]),
                ticket=Ticket.from_dict(data["ticket"]) if data["ticket"] else None,
                actor=Actor(actor["staff_id"], actor["device_id"]) if actor else None,
                counter_id=data["counter_id"],
                detail=dict(data["detail"]),
                seq=seq if seq is not None else data["seq"],
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise QueueError(f"malformed event record: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an operation did: the ticket it concerns (if any) and the events it produced."""

    ticket: Ticket | None
    events: tuple[QueueEvent, ...]


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    """Expected wait in minutes as a range: median to 80th percentile."""

    ticket_id: str
    ahead: int
    low_min: float
    high_min: float
    point_min: float | None = None
    next: bool = False

    @property
    def mid_min(self) -> float:
        """Return the point estimate."""
        return self.range.mid_min

    @property
    def range(self) -> WaitRange:
        """Return the estimate without its ticket id."""
        return WaitRange(self.ahead, self.low_min, self.high_min, self.point_min, self.next)

    def whole_minutes(self) -> tuple[int, int]:
        """Return the range in whole minutes, as the ticket prints it (low <= high)."""
        return self.range.whole_minutes()


@dataclass(frozen=True, slots=True)
class ServiceLoad:
    """Per-service line of the lobby dashboard."""

    service: str
    waiting_priority: int
    waiting_ordinary: int
    longest_wait_min: float
    median_service_min: float
    p80_service_min: float


@dataclass(frozen=True, slots=True)
class CounterView:
    """Per-counter line of the lobby dashboard."""

    counter_id: str
    number: int
    open: bool
    current: Ticket | None
    reserved_waiting: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the lobby manager sees: queues, counters, current calls and the longest wait;
    and what the lobby screens show: waiting counts and the wait a ticket issued now gets."""

    at: datetime
    day: date | None
    services: tuple[ServiceLoad, ...]
    counters: tuple[CounterView, ...]
    current_calls: tuple[Ticket, ...]
    parked: int
    longest_wait_min: float
    waiting: Mapping[str, int]
    """Waiting tickets per service, those transferred to one counter included."""
    new_ticket_wait: Mapping[str, WaitRange]
    """Per service, the range an ordinary ticket issued now would get."""
    new_priority_wait: Mapping[str, WaitRange]
    """Per service, the range a priority-class ticket issued now would get."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None
