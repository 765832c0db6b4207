"""A walk-in ticket whose customer is identified later keeps its number and takes the class.

The customer's tier decides the class as it would have at issue; the ticket keeps its number,
its queue entry (`entry_seq`) and `entered_at`, so in the priority queue it stands where a
priority ticket issued at the same moment would stand. One `identified` event records the change,
so replaying the day rebuilds the same queues. The ticket still holds no tier (docs/security.md).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from branch_hub.queue._errors import InvalidTransition, UnknownTier
from branch_hub.queue._model import Actor, Detail, EventKind, Outcome, Ticket, TicketState
from branch_hub.queue._views import QueueViews

__all__ = ["NotWaiting", "TicketIdentification"]


class NotWaiting(InvalidTransition):
    """Only a waiting ticket can take its customer's class (called, parked or done: too late)."""


class TicketIdentification(QueueViews):
    """The engine's `identify` operation (mixed into `QueueEngine`)."""

    if TYPE_CHECKING:

        def _begin(self) -> datetime: ...
        def _done(self, ticket: Ticket | None) -> Outcome: ...
        def _emit(
            self,
            kind: EventKind,
            at: datetime,
            ticket: Ticket | None,
            actor: Actor | None,
            counter_id: str | None = None,
            detail: Detail | None = None,
        ) -> None: ...

    def identify(self, ticket_id: str, actor: Actor, *, tier: str | None) -> Outcome:
        """Give a waiting ticket its identified customer's class, as from its issue."""
        if tier is not None and tier not in self._tier_priority:
            raise UnknownTier(f"unknown tier {tier!r}")
        now = self._begin()
        ticket = self._ticket(ticket_id)
        if ticket.state is not TicketState.WAITING:
            raise NotWaiting(f"ticket {ticket.number} is {ticket.state}, cannot be identified")
        priority = ticket.priority or (tier is not None and self._tier_priority[tier])
        moved = replace(ticket, priority=priority)
        detail: Detail = {
            "from_class": "priority" if ticket.priority else "ordinary",
            "to_class": "priority" if priority else "ordinary",
        }
        self._emit(EventKind.IDENTIFIED, now, moved, actor, None, detail)
        return self._done(moved)
