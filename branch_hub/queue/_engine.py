"""The queue engine: a pure, deterministic state machine with an injected clock.

Every operation reads the clock once, checks its preconditions (raising before it changes
anything), then produces domain events and applies each one with `apply()`. State changes
only through `apply()`, so replaying a day's events rebuilds exactly the same state; the
SQLite store relies on that to recover after a restart and to catch up with events other
processes committed. No I/O happens here.
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from branch_hub.config import BranchConfig, Counter, PriorityPolicy, QueuePolicy, Service
from branch_hub.queue._errors import (
    ClockError,
    CounterClosed,
    GraceExpired,
    InvalidTransition,
    NotServedHere,
    QueueError,
    UnknownCounter,
    UnknownService,
    UnknownTicket,
    UnknownTier,
)
from branch_hub.queue._model import (
    Actor,
    CounterView,
    Dashboard,
    Detail,
    EventKind,
    Outcome,
    QueueEvent,
    ServiceLoad,
    Ticket,
    TicketState,
    WaitEstimate,
)
from branch_hub.queue._numbering import business_day, format_number, ticket_id
from branch_hub.queue._stats import ServiceTimes

__all__ = ["Clock", "QueueEngine"]

Clock = Callable[[], datetime]
"""Returns the current instant as an aware datetime (UTC or any zone)."""

_EPS = 1e-9
_MIN_SERVICE_MIN = 0.1  # floor for statistics made of near-zero durations


class QueueEngine:
    """Tickets, queues and counters of one branch for the current business day."""

    def __init__(
        self, config: BranchConfig, clock: Clock, *, policy: QueuePolicy | None = None
    ) -> None:
        self._clock = clock
        self._zone = ZoneInfo(config.branch.timezone)
        self._policy = policy or config.queue
        self._services: dict[str, Service] = {s.code: s for s in config.services}
        self._counters: dict[str, Counter] = {c.id: c for c in config.counters}
        self._tier_priority: dict[str, bool] = {t.code: t.priority for t in config.tiers}
        self._serving: dict[str, tuple[str, ...]] = {
            s: tuple(c.id for c in config.counters if s in c.services) for s in self._services
        }
        self.stats = ServiceTimes({s.code: s.typical_service_min for s in config.services})
        self.mutations = 0
        """Counts applied changes; the store compares it to know whether state moved."""
        self._pending: list[QueueEvent] = []
        self._now = datetime.fromtimestamp(0, UTC)
        self._day: date | None = None
        self._tickets: dict[str, Ticket] = {}
        self._numbers: dict[str, int] = {}
        self._queues: dict[tuple[str, bool], OrderedDict[str, None]] = {}
        self._reserved: dict[str, OrderedDict[str, None]] = {}
        self._overtakes: dict[str, list[int]] = {}
        self._overtake_sums: dict[str, list[float]] = {}
        self._charged_all: dict[str, float] = {}
        self._charged_base: dict[str, float] = {}
        self._open: set[str] = set()
        self._current: dict[str, str] = {}
        self._cycle: dict[str, int] = {}
        self._next_entry = 1
        self._reset_day(None)

    # ----------------------------------------------------------------- properties

    @property
    def policy(self) -> QueuePolicy:
        """Return the priority policy in force."""
        return self._policy

    @property
    def day(self) -> date | None:
        """Return the business day the state belongs to (None before the first event)."""
        return self._day

    @property
    def open_counters(self) -> frozenset[str]:
        """Return the ids of open counters."""
        return frozenset(self._open)

    @property
    def zone(self) -> ZoneInfo:
        """Return the branch's time zone."""
        return self._zone

    def now(self) -> datetime:
        """Read the injected clock as an aware UTC datetime."""
        value = self._clock()
        if value.tzinfo is None or value.utcoffset() is None:
            raise ClockError(f"the queue clock returned a naive datetime {value!r}")
        return value.astimezone(UTC)

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
            priority=appointment or (tier is not None and self._tier_priority[tier]),
            tier=tier,
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
        detail: Detail = {
            "mode": mode,
            "class": "priority" if ticket.priority else "ordinary",
            "waited_s": round((now - ticket.entered_at).total_seconds(), 3),
        }
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

    # ----------------------------------------------------------------- queries

    def ticket(self, ticket_id: str) -> Ticket:
        """Return a ticket of the current business day."""
        return self._ticket(ticket_id)

    def tickets(self) -> list[Ticket]:
        """Return every ticket of the current business day in issue order."""
        return sorted(self._tickets.values(), key=lambda t: (t.issued_at, t.id))

    def waiting(self, service: str | None = None) -> list[Ticket]:
        """Return waiting tickets (of one service, or all) in queue-entry order."""
        found = [
            t
            for t in self._tickets.values()
            if t.state is TicketState.WAITING and (service is None or t.service == service)
        ]
        return sorted(found, key=lambda t: t.entry_seq)

    def current(self, counter_id: str) -> Ticket | None:
        """Return the ticket a counter is serving, if any."""
        tid = self._current.get(counter_id)
        return self._tickets[tid] if tid is not None else None

    def priority_delay_min(self, ticket_id: str) -> float:
        """Return the delay charged to a waiting ordinary ticket because of priority calls."""
        base = self._charged_base.get(ticket_id)
        if base is None:
            return 0.0
        ticket = self._tickets[ticket_id]
        sums = self._overtake_sums[ticket.service]
        # every overtake by a ticket that entered later happened while this one waited
        later = bisect.bisect_right(self._overtakes[ticket.service], ticket.entry_seq)
        return sums[-1] - sums[later] + self._charged_all[ticket.service] - base

    def is_due(self, ticket_id: str) -> bool:
        """Return whether a waiting ordinary ticket has reached the aging cap."""
        cap = self._policy.aging_cap_min
        return cap > 0 and self.priority_delay_min(ticket_id) >= cap - _EPS

    def estimate(self, ticket_id: str) -> WaitEstimate:
        """Estimate a waiting ticket's remaining wait as a median-to-p80 range in minutes."""
        ticket = self._ticket(ticket_id)
        if ticket.state is not TicketState.WAITING:
            return WaitEstimate(ticket.id, 0, 0.0, 0.0)
        if ticket.target_counter is not None:
            queue = self._reserved[ticket.target_counter]
            ahead = _position(queue, ticket.id)
            capacity = 1.0
        else:
            ahead = self._ahead(ticket)
            capacity = self._capacity(ticket.service)
        median, p80 = self.stats.range_min(ticket.service)
        busy = self._busy_fraction(ticket.service)
        # people ahead each take one service time spread over the counters; a customer with
        # nobody ahead still waits for the first counter to free up (about half a service).
        low = (ahead + 0.5 * busy) * median / capacity
        high = (ahead + 0.5 * busy) * p80 / capacity
        return WaitEstimate(ticket.id, ahead, round(low, 2), round(high, 2))

    def dashboard(self) -> Dashboard:
        """Return the lobby manager's view of queues and counters."""
        now = self.now()
        loads = []
        longest = 0.0
        for code in self._services:
            heads = [self._head(code, True), self._head(code, False)]
            oldest = min((t.entered_at for t in heads if t is not None), default=None)
            wait = (now - oldest).total_seconds() / 60 if oldest else 0.0
            longest = max(longest, wait)
            median, p80 = self.stats.range_min(code)
            loads.append(
                ServiceLoad(
                    service=code,
                    waiting_priority=len(self._queues[(code, True)]),
                    waiting_ordinary=len(self._queues[(code, False)]),
                    longest_wait_min=round(wait, 2),
                    median_service_min=round(median, 2),
                    p80_service_min=round(p80, 2),
                )
            )
        for queue in self._reserved.values():
            for tid in queue:
                wait = (now - self._tickets[tid].entered_at).total_seconds() / 60
                longest = max(longest, wait)
        counters = tuple(
            CounterView(
                counter_id=c.id,
                number=c.number,
                open=c.id in self._open,
                current=self.current(c.id),
                reserved_waiting=len(self._reserved[c.id]),
            )
            for c in self._counters.values()
        )
        calls = tuple(
            sorted(
                (self._tickets[tid] for tid in self._current.values()),
                key=lambda t: (t.called_at or t.issued_at, t.id),
            )
        )
        parked = sum(1 for t in self._tickets.values() if t.state is TicketState.PARKED)
        return Dashboard(
            at=now,
            day=self._day,
            services=tuple(loads),
            counters=counters,
            current_calls=calls,
            parked=parked,
            longest_wait_min=round(longest, 2),
        )

    # ----------------------------------------------------------------- replay

    def apply(self, event: QueueEvent) -> None:
        """Apply one event to the state (used by operations and for replay)."""
        if self._day is None or event.day > self._day:
            self._reset_day(event.day)
        elif event.day < self._day:
            raise QueueError(f"event of {event.day} cannot follow state of {self._day}")
        self.mutations += 1
        ticket = event.ticket
        kind = event.kind
        if kind is EventKind.COUNTER_OPENED and event.counter_id:
            self._open.add(event.counter_id)
        elif kind is EventKind.COUNTER_CLOSED and event.counter_id:
            self._open.discard(event.counter_id)
        if ticket is None:
            return
        old = self._tickets.get(ticket.id)
        if old is not None:
            self._leave(old)
        if kind is EventKind.CALLED and event.counter_id:
            self._account_call(ticket, event.counter_id, str(event.detail.get("mode")))
        elif kind is EventKind.FINISHED:
            service = event.detail.get("service")
            duration = event.detail.get("service_s")
            if isinstance(service, str) and isinstance(duration, int | float):
                self.stats.add(service, float(duration))
        elif kind is EventKind.TICKET_ISSUED:
            first = ticket.services[0]
            self._numbers[first] = max(self._numbers.get(first, 0), ticket.ordinal)
        self._tickets[ticket.id] = ticket
        self._enter(ticket)
        self._next_entry = max(self._next_entry, ticket.entry_seq + 1)

    def replay(self, events: Iterable[QueueEvent]) -> None:
        """Apply events in order."""
        for event in events:
            self.apply(event)

    # ----------------------------------------------------------------- internals

    def _reset_day(self, day: date | None) -> None:
        self._day = day
        self._tickets = {}
        self._numbers = {}
        self._queues = {(s, p): OrderedDict() for s in self._services for p in (True, False)}
        self._reserved = {c: OrderedDict() for c in self._counters}
        self._overtakes = {code: [] for code in self._services}
        self._overtake_sums = {code: [0.0] for code in self._services}
        self._charged_all = dict.fromkeys(self._services, 0.0)
        self._charged_base = {}
        self._open = set()
        self._current = {}
        self._cycle = dict.fromkeys(self._counters, 0)
        self._next_entry = 1
        self.mutations += 1

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

    def _require_day(self) -> date:
        if self._day is None:
            raise QueueError("no business day yet")
        return self._day

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
        if reserved:
            return self._tickets[next(iter(reserved))], "reserved"
        best_p: Ticket | None = None
        best_o: Ticket | None = None
        due: Ticket | None = None
        cap = self._policy.aging_cap_min
        for code in counter.services:
            head_p = self._head(code, True)
            if head_p is not None and (best_p is None or head_p.entry_seq < best_p.entry_seq):
                best_p = head_p
            head_o = self._head(code, False)
            if head_o is not None:
                if best_o is None or head_o.entry_seq < best_o.entry_seq:
                    best_o = head_o
                # charges only ever go to a prefix of a queue, so its head has the largest delay
                if (
                    cap > 0
                    and self.priority_delay_min(head_o.id) >= cap - _EPS
                    and (due is None or head_o.entry_seq < due.entry_seq)
                ):
                    due = head_o
        if due is not None and best_o is not None:
            # a due ticket turns this call over to the ordinary class, oldest first as it would
            # be without priority customers (so it never jumps ahead of older ordinary tickets)
            return best_o, "due"
        if (
            self._policy.policy is PriorityPolicy.STRICT
            or self._cycle[counter.id] < self._policy.priority_weight
        ):
            choice = best_p or best_o
        else:
            choice = best_o or best_p
        return (choice, "policy") if choice is not None else None

    def _account_call(self, ticket: Ticket, counter_id: str, mode: str) -> None:
        """Advance the counter's weighted cycle and charge overtaken ordinary tickets."""
        if mode == "policy":
            period = self._policy.priority_weight + self._policy.ordinary_weight
            self._cycle[counter_id] = (self._cycle[counter_id] + 1) % period
        if not ticket.priority or mode == "reserved" or self._policy.aging_cap_min <= 0:
            return
        # A priority ticket called here takes this counter away from the ordinary tickets it could
        # have called instead. Those of the same service that entered earlier are overtaken; those
        # of the counter's other services lose the counter whatever their order. Each is charged
        # the priority customer's median service time divided by the service's capacity (see
        # docs/queue.md, "Aging cap").
        charge = self.stats.median_min(ticket.service)
        for code in self._counters[counter_id].services:
            queue = self._queues[(code, False)]
            if not queue:
                continue
            share = charge / self._capacity(code)
            if code != ticket.service:
                self._charged_all[code] += share  # every waiting ticket: O(1) via an offset
                continue
            # tickets that entered before this one: a prefix of the queue. Priority tickets of a
            # service are called in entry order, so the keys stay sorted and a lookup is a bisect.
            self._overtakes[code].append(ticket.entry_seq)
            cumulative = self._overtake_sums[code]
            cumulative.append(cumulative[-1] + share)

    def _leave(self, old: Ticket) -> None:
        if old.state is TicketState.WAITING:
            if old.target_counter is not None:
                self._reserved[old.target_counter].pop(old.id, None)
            else:
                self._queues[(old.service, old.priority)].pop(old.id, None)
            self._charged_base.pop(old.id, None)
        elif (
            old.state is TicketState.CALLED
            and old.counter_id is not None
            and self._current.get(old.counter_id) == old.id
        ):
            del self._current[old.counter_id]

    def _enter(self, ticket: Ticket) -> None:
        if ticket.state is TicketState.WAITING:
            if ticket.target_counter is not None:
                self._reserved[ticket.target_counter][ticket.id] = None
            else:
                self._queues[(ticket.service, ticket.priority)][ticket.id] = None
                if not ticket.priority:
                    self._charged_base[ticket.id] = self._charged_all[ticket.service]
        elif ticket.state is TicketState.CALLED and ticket.counter_id is not None:
            self._current[ticket.counter_id] = ticket.id

    def _head(self, service: str, priority: bool) -> Ticket | None:
        queue = self._queues[(service, priority)]
        return self._tickets[next(iter(queue))] if queue else None

    def _ahead(self, ticket: Ticket) -> int:
        """Count tickets that will be called before this one in its service."""
        own = _position(self._queues[(ticket.service, ticket.priority)], ticket.id)
        other = len(self._queues[(ticket.service, not ticket.priority)])
        pw, ow = self._policy.priority_weight, self._policy.ordinary_weight
        if self._policy.policy is PriorityPolicy.STRICT:
            interleaved = 0 if ticket.priority else other
        elif ticket.priority:
            interleaved = min(other, math.floor(own * ow / pw))
        else:
            interleaved = min(other, math.ceil((own + 1) * pw / ow))
        return own + interleaved

    def capacity(self, service: str) -> float:
        """Return how many counters' worth of capacity serve a service now (at least 0.1)."""
        return self._capacity(service)

    def _capacity(self, service: str) -> float:
        """Share each open counter (or, if none is open, each configured one) among its services
        by their waiting work, and add up the shares of this service."""
        counters = [c for c in self._serving[service] if c in self._open] or list(
            self._serving[service]
        )
        total = 0.0
        for cid in counters:
            weights = {
                code: (len(self._queues[(code, True)]) + len(self._queues[(code, False)]) + 1)
                * max(self.stats.median_min(code), _MIN_SERVICE_MIN)
                for code in self._counters[cid].services
            }
            total += weights[service] / sum(weights.values())
        return max(total, 0.1)

    def _busy_fraction(self, service: str) -> float:
        counters = [c for c in self._serving[service] if c in self._open]
        if not counters:
            return 1.0
        return sum(1 for c in counters if c in self._current) / len(counters)

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

    def _service(self, code: str) -> Service:
        try:
            return self._services[code]
        except KeyError:
            raise UnknownService(f"unknown service {code!r}") from None

    def _counter(self, counter_id: str) -> Counter:
        try:
            return self._counters[counter_id]
        except KeyError:
            raise UnknownCounter(f"unknown counter {counter_id!r}") from None

    def _ticket(self, tid: str) -> Ticket:
        try:
            return self._tickets[tid]
        except KeyError:
            raise UnknownTicket(f"no ticket {tid!r} today") from None


def _position(queue: OrderedDict[str, None], tid: str) -> int:
    for i, key in enumerate(queue):
        if key == tid:
            return i
    return len(queue)
