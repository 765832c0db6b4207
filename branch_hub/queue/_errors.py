"""Exception tree of the queue.

QueueError
├── ClockError            the injected clock gave a naive datetime
├── UnknownService / UnknownCounter / UnknownTicket / UnknownTier
├── InvalidTransition     the ticket's state does not allow the operation
│   └── GraceExpired      a no-show is recalled after the grace period
├── CounterClosed         the counter is not open
├── NotServedHere         the counter does not serve the ticket's service
└── StoreError            the SQLite store failed (wraps sqlite3.Error)
"""

from __future__ import annotations

__all__ = [
    "ClockError",
    "CounterClosed",
    "GraceExpired",
    "InvalidTransition",
    "NotServedHere",
    "QueueError",
    "StoreError",
    "UnknownCounter",
    "UnknownService",
    "UnknownTicket",
    "UnknownTier",
]


class QueueError(Exception):
    """Base of every queue error."""


class ClockError(QueueError):
    """The clock returned a datetime without a time zone."""


class UnknownService(QueueError):
    """No service has this code."""


class UnknownCounter(QueueError):
    """No counter has this id."""


class UnknownTicket(QueueError):
    """No ticket of the current business day has this id."""


class UnknownTier(QueueError):
    """No tier has this code."""


class InvalidTransition(QueueError):
    """The ticket's state does not allow this operation."""


class GraceExpired(InvalidTransition):
    """The no-show grace period is over; the ticket can no longer be recalled."""


class CounterClosed(QueueError):
    """The counter is not open."""


class NotServedHere(QueueError):
    """The counter does not serve this service."""


class StoreError(QueueError):
    """The persistent store failed."""
