"""The branch queue: a pure ticket engine with an injected clock, persisted in SQLite WAL.

`QueueEngine` is the deterministic core (no I/O); `QueueStore` wraps it with a durable,
multi-process-safe event log; `WaitEstimator` is the one wait formula every screen shows.
See docs/queue.md.
"""

from __future__ import annotations

from branch_hub.queue._clock import ManualClock
from branch_hub.queue._engine import Clock, QueueEngine
from branch_hub.queue._errors import (
    ClockError,
    CounterClosed,
    GraceExpired,
    InvalidTransition,
    NotServedHere,
    QueueError,
    StoreError,
    UnknownCounter,
    UnknownService,
    UnknownTicket,
    UnknownTier,
)
from branch_hub.queue._estimate import QueueSnapshot, WaitEstimator, WaitRange
from branch_hub.queue._identify import NotWaiting
from branch_hub.queue._model import (
    Actor,
    CounterView,
    Dashboard,
    EventKind,
    Outcome,
    QueueEvent,
    ServiceLoad,
    Ticket,
    TicketState,
    WaitEstimate,
)
from branch_hub.queue._numbering import business_day, format_number
from branch_hub.queue._screens import DashboardSource, menu_estimates, waiting_snapshot
from branch_hub.queue._store import QueueStore, Synchronous

__all__ = [
    "Actor",
    "Clock",
    "ClockError",
    "CounterClosed",
    "CounterView",
    "Dashboard",
    "DashboardSource",
    "EventKind",
    "GraceExpired",
    "InvalidTransition",
    "ManualClock",
    "NotServedHere",
    "NotWaiting",
    "Outcome",
    "QueueEngine",
    "QueueError",
    "QueueEvent",
    "QueueSnapshot",
    "QueueStore",
    "ServiceLoad",
    "StoreError",
    "Synchronous",
    "Ticket",
    "TicketState",
    "UnknownCounter",
    "UnknownService",
    "UnknownTicket",
    "UnknownTier",
    "WaitEstimate",
    "WaitEstimator",
    "WaitRange",
    "business_day",
    "format_number",
    "menu_estimates",
    "waiting_snapshot",
]
