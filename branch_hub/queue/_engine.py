"""The queue engine: a pure, deterministic state machine with an injected clock.

Every operation reads the clock once, checks its preconditions (raising before it changes
anything), then produces domain events and applies each one with `apply()`. State changes
only through `apply()` (in `QueueState`), so replaying a day's events rebuilds exactly the
same state; the SQLite store relies on that to recover after a restart and to catch up with
events other processes committed. No I/O happens here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from branch_hub.config import BranchConfig, Counter, QueuePolicy
from branch_hub.queue._calling import choose_next
from branch_hub.queue._errors import (
    CounterClosed,
    GraceExpired,
    InvalidTransition,
    NotServedHere,
    UnknownService,
    UnknownTier,
)
from branch_hub.queue._identify import TicketIdentification
from branch_hub.queue._model import (
    Actor,
    Detail,
    EventKind,
    Outcome,
    QueueEvent,
    Ticket,
    TicketState,
)
from branch_hub.queue._numbering import business_day, format_number, ticket_id
from branch_hub.queue._state import Clock
from branch_hub.queue._views import QueueViews

__all__ = ["Clock", "QueueEngine"]


class QueueEngine(TicketIdentification, QueueViews):
    """Tickets, queues and counters of one branch for the current business day."""

    def __init__(
        self, config: BranchConfig, clock: Clock, *, policy: QueuePolicy | None = None
    ) -> None:
        super().__init__(config, clock, policy=policy)
        self._pending: list[QueueEvent] = []

    # ----------------------------------------------------------------- operations

    def issue(
        self,
        services: str | Sequence[str],
        actor: Actor,
        *,
        tier: str | None = None,
        appointment: bool = False,
        visit_ref: str | None = None,
    ) -> Outcome:
        """Issue a ticket for one service or an ordered list of services in one visit."""
        codes = (services,) if isinstance(services, str) else tuple(services)
        if not codes:
            raise UnknownService("a ticket needs at least one service")
        for code in codes:
            self._service(code)
        if tier is not None and tier not in self._tier_priority:
            raise UnknownTier(f"unknown tier {tier!r}")
        now = self._begin()
        first = self._services[codes[0]]
        ordinal = self._numbers.get(first.code, 0) + 1
        number = format_number(first.prefix, ordinal)
        day = self._require_day()
        tid = ticket_id(day, number)
        ticket = Ticket(
            id=tid,
            number=number,
            day=day,
            services=codes,
            step=0,
            # The tier only decides the priority class; the ticket keeps the class, never the
            # tier, so the queue's tables hold no customer tier (docs/security.md).
            priority=appointment or (tier is not None and self._tier_priority[tier]),
            appointment=appointment,
            visit_ref=visit_ref or tid,
            state=TicketState.WAITING,
            issued_at=now,
            entered_at=now,
            entry_seq=self._next_entry,
        )
        self._emit(EventKind.TICKET_ISSUED, now, ticket, actor)
        return self._done(ticket)

    def call_next(self, counter_id: str, actor: Actor) -> Outcome:
        """Call the next ticket to a counter; its current ticket, if any, is finished first."""
        counter = self._counter(counter_id)
        now = self._begin()
        if counter.id not in self._open:
            raise CounterClosed(f"counter {counter.id} is not open")
        current = self._current.get(counter.id)
        if current is not None:
            self._finish_step(self._tickets[current], now, actor)
        chosen = self._select(counter)
        if chosen is None:
            return self._done(None)
        ticket, mode = chosen
        called = replace(
            ticket,
            state=TicketState.CALLED,
            counter_id=counter.id,
            called_at=now,
            target_counter=None,
            recalls=0,
        )
        detail: dict[str, str | int | float | bool | None] = {
            "mode": mode,
            "class": "priority" if ticket.priority else "ordinary",
            "waited_s": round((now - ticket.entered_at).total_seconds(), 3),
        }
        raw = self._issued_raw.get(ticket.id)
        if raw is not None:  # kept with the wait it had, so a restarted hub relearns the range
            detail["issued_raw_min"] = round(raw, 3)
        self._emit(EventKind.CALLED, now, called, actor, counter.id, detail)
        return self._done(called)

    def recall(self, ticket_id: str, actor: Actor, counter_id: str | None = None) -> Outcome:
        """Call a called ticket again, or bring back a no-show within the grace period."""
        if counter_id is not None:
            self._counter(counter_id)
        now = self._begin()
        ticket = self._ticket(ticket_id)
        if ticket.state is TicketState.CALLED:
            if counter_id is not None and counter_id != ticket.counter_id:
                raise InvalidTransition(
                    f"ticket {ticket.number} is called to counter {ticket.counter_id}, not {counter_id}"
                )
            recalled = replace(ticket, recalls=ticket.recalls + 1)
        elif ticket.state is TicketState.NO_SHOW:
            late = (now - (ticket.no_show_at or now)).total_seconds()
            if late > self._policy.no_show_grace_s:
                raise GraceExpired(
                    f"ticket {ticket.number} was a no-show {late:.0f} s ago "
                    f"(grace {self._policy.no_show_grace_s:.0f} s)"
                )
            target = counter_id or ticket.counter_id or ""
            self._check_can_serve(self._counter(target), ticket.service)
            recalled = replace(
                ticket,
                state=TicketState.CALLED,
                counter_id=target,
                called_at=now,
                no_show_at=None,
                closed_at=None,
                recalls=ticket.recalls + 1,
            )
        else:
            raise InvalidTransition(f"ticket {ticket.number} is {ticket.state}, cannot recall")
        self._emit(EventKind.RECALLED, now, recalled, actor, recalled.counter_id)
        return self._done(recalled)

    def no_show(self, ticket_id: str, actor: Actor) -> Outcome:
        """Mark a called ticket as not showing up; it may be recalled within the grace period."""
        now = self._begin()
        ticket = self._ticket(ticket_id)
        self._expect(ticket, TicketState.CALLED, "mark as no-show")
        gone = replace(ticket, state=TicketState.NO_SHOW, no_show_at=now, closed_at=now)
        self._emit(EventKind.NO_SHOW, now, gone, actor, ticket.counter_id)
        return self._done(gone)

    def transfer(
        self,
        ticket_id: str,
        actor: Actor,
        *,
        to_service: str | None = None,
        to_counter: str | None = None,
    ) -> Outcome:
        """Send a ticket to another service's queue and/or to one counter's own queue."""
        if to_service is None and to_counter is None:
            raise InvalidTransition("a transfer needs a target service or counter")
        if to_service is not None:
            self._service(to_service)
        if to_counter is not None:
            self._counter(to_counter)
        now = self._begin()
        ticket = self._ticket(ticket_id)
        if ticket.is_terminal:
            raise InvalidTransition(f"ticket {ticket.number} is {ticket.state}, cannot transfer")
        service = to_service or ticket.service
        if to_counter is not None and service not in self._counters[to_counter].services:
            raise NotServedHere(f"counter {to_counter} does not serve {service!r}")
        services = (*ticket.services[: ticket.step], service, *ticket.services[ticket.step + 1 :])
        moved = replace(
            ticket,
            services=services,
            state=TicketState.WAITING,
            entered_at=now,
            entry_seq=self._next_entry,
            counter_id=None,
            called_at=None,
            target_counter=to_counter,
        )
        detail: Detail = {
            "from_service": ticket.service,
            "to_service": service,
            "from_counter": ticket.counter_id,
            "to_counter": to_counter,
        }
        self._emit(EventKind.TRANSFERRED, now, moved, actor, ticket.counter_id, detail)
        return self._done(moved)

    def park(self, ticket_id: str, actor: Actor) -> Outcome:
        """Set a called ticket aside (the customer steps away); the counter becomes free."""
        now = self._begin()
        ticket = self._ticket(ticket_id)
        self._expect(ticket, TicketState.CALLED, "park")
        parked = replace(ticket, state=TicketState.PARKED)
        self._emit(EventKind.PARKED, now, parked, actor, ticket.counter_id)
        return self._done(parked)

    def resume(self, ticket_id: str, counter_id: str, actor: Actor) -> Outcome:
        """Take a parked ticket back into service at a counter."""
        counter = self._counter(counter_id)
        now = self._begin()
        ticket = self._ticket(ticket_id)
        self._expect(ticket, TicketState.PARKED, "resume")
        self._check_can_serve(counter, ticket.service)
        resumed = replace(ticket, state=TicketState.CALLED, counter_id=counter.id, called_at=now)
        self._emit(EventKind.RESUMED, now, resumed, actor, counter.id)
        return self._done(resumed)

    def finish(self, ticket_id: str, actor: Actor) -> Outcome:
        """Finish serving a ticket; a visit with more services moves on to the next queue."""
        now = self._begin()
        ticket = self._ticket(ticket_id)
        self._expect(ticket, TicketState.CALLED, "finish")
        return self._done(self._finish_step(ticket, now, actor))

    def cancel(self, ticket_id: str, actor: Actor, reason: str = "customer_left") -> Outcome:
        """Cancel a ticket that is not finished yet."""
        now = self._begin()
        ticket = self._ticket(ticket_id)
        if ticket.is_terminal:
            raise InvalidTransition(f"ticket {ticket.number} is {ticket.state}, cannot cancel")
        return self._done(self._cancel(ticket, now, actor, reason))

    def open_counter(self, counter_id: str, actor: Actor) -> Outcome:
        """Open a counter so it can call tickets (no event if it is open already)."""
        counter = self._counter(counter_id)
        self._begin()
        if counter.id not in self._open:
            self._emit(EventKind.COUNTER_OPENED, self._now, None, actor, counter.id)
        return self._done(None)

    def close_counter(self, counter_id: str, actor: Actor) -> Outcome:
        """Close a counter; it must not be serving a ticket."""
        counter = self._counter(counter_id)
        self._begin()
        if counter.id in self._current:
            number = self._tickets[self._current[counter.id]].number
            raise InvalidTransition(f"counter {counter.id} is still serving {number}")
        if counter.id in self._open:
            self._emit(EventKind.COUNTER_CLOSED, self._now, None, actor, counter.id)
        return self._done(None)

    def close_day(self, actor: Actor | None) -> Outcome:
        """Drain the day: finish called tickets, cancel waiting and parked ones, close counters."""
        now = self._begin()
        self._drain(now, actor)
        return self._done(None)

    def tick(self) -> Outcome:
        """Roll the business day over if the clock has passed midnight; returns its events."""
        self._begin()
        return self._done(None)

    # ----------------------------------------------------------------- internals

    def _begin(self) -> datetime:
        """Start an operation: read the clock once and roll the business day over if needed."""
        now = self.now()
        self._now = now
        # events of a rollover stay pending if the operation then fails; the next outcome has them
        today = business_day(now, self._zone)
        if self._day is None:
            self._reset_day(today)
        elif today > self._day:
            # the day rolls over by the clock, not by cron: close yesterday, then start afresh
            self._drain(now, None, reason="day_closed")
            self._reset_day(today)
        return now

    def _done(self, ticket: Ticket | None) -> Outcome:
        events = tuple(self._pending)
        self._pending = []
        return Outcome(ticket, events)

    def _emit(
        self,
        kind: EventKind,
        at: datetime,
        ticket: Ticket | None,
        actor: Actor | None,
        counter_id: str | None = None,
        detail: Detail | None = None,
    ) -> None:
        event = QueueEvent(
            kind=kind,
            at=at,
            day=self._require_day(),
            ticket=ticket,
            actor=actor,
            counter_id=counter_id,
            detail=detail or {},
        )
        self.apply(event)
        self._pending.append(event)

    def _drain(self, now: datetime, actor: Actor | None, reason: str = "day_closed") -> None:
        for ticket in sorted(self._tickets.values(), key=lambda t: t.entry_seq):
            if ticket.state is TicketState.CALLED:
                self._finish_step(ticket, now, actor, last=True)
            elif ticket.state in (TicketState.WAITING, TicketState.PARKED):
                self._cancel(ticket, now, actor, reason)
        for counter_id in sorted(self._open):
            self._emit(EventKind.COUNTER_CLOSED, now, None, actor, counter_id)

    def _finish_step(
        self, ticket: Ticket, now: datetime, actor: Actor | None, *, last: bool = False
    ) -> Ticket:
        service_s = round((now - (ticket.called_at or now)).total_seconds(), 3)
        more = not last and ticket.step + 1 < len(ticket.services)
        if more:
            done = replace(
                ticket,
                step=ticket.step + 1,
                state=TicketState.WAITING,
                entered_at=now,
                entry_seq=self._next_entry,
                counter_id=None,
                called_at=None,
                target_counter=None,
                recalls=0,
            )
        else:
            done = replace(ticket, state=TicketState.FINISHED, closed_at=now)
        detail: Detail = {
            "service": ticket.service,
            "service_s": service_s,
            "next_service": done.service if more else None,
            "visit_done": not more,
        }
        self._emit(EventKind.FINISHED, now, done, actor, ticket.counter_id, detail)
        return done

    def _cancel(self, ticket: Ticket, now: datetime, actor: Actor | None, reason: str) -> Ticket:
        gone = replace(ticket, state=TicketState.CANCELLED, closed_at=now)
        self._emit(EventKind.CANCELLED, now, gone, actor, ticket.counter_id, {"reason": reason})
        return gone

    def _select(self, counter: Counter) -> tuple[Ticket, str] | None:
        """Choose the next ticket for a counter: reserved, then due, then by policy."""
        reserved = self._reserved[counter.id]
        chosen = choose_next(
            self._policy,
            self._cycle[counter.id],
            self._tickets[next(iter(reserved))] if reserved else None,
            [(self._head(code, True), self._head(code, False)) for code in counter.services],
            lambda head: self.is_due(head.id),
        )
        return (chosen[0], chosen[1].value) if chosen is not None else None

    def _check_can_serve(self, counter: Counter, service: str) -> None:
        if service not in counter.services:
            raise NotServedHere(f"counter {counter.id} does not serve {service!r}")
        if counter.id not in self._open:
            raise CounterClosed(f"counter {counter.id} is not open")
        if counter.id in self._current:
            number = self._tickets[self._current[counter.id]].number
            raise InvalidTransition(f"counter {counter.id} is serving {number}")

    def _expect(self, ticket: Ticket, state: TicketState, action: str) -> None:
        if ticket.state is not state:
            raise InvalidTransition(f"ticket {ticket.number} is {ticket.state}, cannot {action}")
