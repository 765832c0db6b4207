"""The queue's state for one business day, changed only by applying domain events.

`QueueState.apply()` is the one place state changes, so replaying a day's events rebuilds
exactly the same state. It keeps the per-service queues, the counters' own queues, the
counters' current tickets and the aging-cap charges; `snapshot()` gives the wait estimate
what it reads.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from branch_hub.config import BranchConfig, Counter, QueuePolicy, Service
from branch_hub.queue._calling import CallMode, advance_cycle
from branch_hub.queue._errors import (
    ClockError,
    QueueError,
    UnknownCounter,
    UnknownService,
    UnknownTicket,
)
from branch_hub.queue._estimate import QueueSnapshot, WaitEstimator
from branch_hub.queue._identify_order import insert_by_entry, record_overtake
from branch_hub.queue._model import EventKind, QueueEvent, Ticket, TicketState
from branch_hub.queue._stats import ServiceTimes

__all__ = ["EPS", "Clock", "QueueState", "position"]

Clock = Callable[[], datetime]
"""Returns the current instant as an aware datetime (UTC or any zone)."""

EPS = 1e-9


class QueueState:
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
        self.estimator = WaitEstimator(config, self._policy)
        """The one wait formula (ticket, menu and aging-cap capacity)."""
        self.stats = ServiceTimes({s.code: s.typical_service_min for s in config.services})
        self.mutations = 0
        """Counts applied changes; the store compares it to know whether state moved."""
        self._now = datetime.fromtimestamp(0, UTC)
        self._day: date | None = None
        self._tickets: dict[str, Ticket] = {}
        self._numbers: dict[str, int] = {}
        self._queues: dict[tuple[str, bool], OrderedDict[str, None]] = {}
        self._reserved: dict[str, OrderedDict[str, None]] = {}
        self._reserved_count: dict[str, int] = {}
        self._overtakes: dict[str, list[int]] = {}
        self._overtake_sums: dict[str, list[float]] = {}
        self._charged_all: dict[str, float] = {}
        self._charged_base: dict[str, float] = {}
        self._open: set[str] = set()
        self._current: dict[str, str] = {}
        self._cycle: dict[str, int] = {}
        self._next_entry = 1
        self._issued_raw: dict[str, float] = {}
        """The formula's point at issue of tickets not yet called (what the range learns from)."""
        self._reset_day(None)

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
        # an identified ordinary ticket that stays ordinary keeps the delay it was charged
        kept = self._charged_base.get(ticket.id) if kind is EventKind.IDENTIFIED else None
        if old is not None:
            self._leave(old)
        if kind is EventKind.CALLED and event.counter_id:
            self._account_call(ticket, event.counter_id, str(event.detail.get("mode")))
            self._learn_wait(ticket)
        elif kind is EventKind.FINISHED:
            service = event.detail.get("service")
            duration = event.detail.get("service_s")
            if isinstance(service, str) and isinstance(duration, int | float):
                self.stats.add(service, float(duration))
        elif kind is EventKind.TICKET_ISSUED:
            first = ticket.services[0]
            self._numbers[first] = max(self._numbers.get(first, 0), ticket.ordinal)
            if ticket.target_counter is None:
                self._issued_raw[ticket.id] = self.estimator.raw_new(
                    self.snapshot(), ticket.service, ticket.priority
                )
        self._tickets[ticket.id] = ticket
        self._enter(ticket)
        if kept is not None and ticket.id in self._charged_base:
            self._charged_base[ticket.id] = kept
        self._next_entry = max(self._next_entry, ticket.entry_seq + 1)

    def _learn_wait(self, ticket: Ticket) -> None:
        """Teach the wait range how long a ticket waited against the formula's point at issue."""
        raw = self._issued_raw.pop(ticket.id, None)
        if raw is not None and ticket.called_at is not None:
            waited = (ticket.called_at - ticket.issued_at).total_seconds() / 60
            self.estimator.calibration.add(raw, max(0.0, waited))

    def replay(self, events: Iterable[QueueEvent]) -> None:
        """Apply events in order."""
        for event in events:
            self.apply(event)

    # ----------------------------------------------------------------- aging cap

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
        return cap > 0 and self.priority_delay_min(ticket_id) >= cap - EPS

    def capacity(self, service: str) -> float:
        """Return how many counters' worth of capacity serve a service now (at least 0.1)."""
        return self.estimator.capacity(self.snapshot(), service)

    def snapshot(self) -> QueueSnapshot:
        """Return the counts the wait estimate reads, as they are now."""
        return QueueSnapshot(
            priority={code: len(self._queues[(code, True)]) for code in self._services},
            ordinary={code: len(self._queues[(code, False)]) for code in self._services},
            reserved=dict(self._reserved_count),
            open_counters=frozenset(self._open),
            busy_counters=frozenset(self._current),
            service_min={code: self.stats.range_min(code) for code in self._services},
        )

    def _account_call(self, ticket: Ticket, counter_id: str, mode: str) -> None:
        """Advance the counter's weighted cycle and charge overtaken ordinary tickets."""
        self._cycle[counter_id] = advance_cycle(self._policy, self._cycle[counter_id], mode)
        if not ticket.priority or mode == CallMode.RESERVED or self._policy.aging_cap_min <= 0:
            return
        # A priority ticket called here takes this counter away from the ordinary tickets it could
        # have called instead. Those of the same service that entered earlier are overtaken; those
        # of the counter's other services lose the counter whatever their order. Each is charged
        # the priority customer's median service time divided by the service's capacity (see
        # docs/queue.md, "Aging cap").
        charge = self.stats.median_min(ticket.service)
        snapshot = self.snapshot()
        for code in self._counters[counter_id].services:
            if not self._queues[(code, False)]:
                continue
            share = charge / self.estimator.capacity(snapshot, code)
            if code != ticket.service:
                self._charged_all[code] += share  # every waiting ticket: O(1) via an offset
                continue
            # tickets that entered before this one: a prefix of the queue. Keys are kept sorted
            # (an identified ticket may be called after later entries), so a lookup is a bisect.
            record_overtake(
                self._overtakes[code], self._overtake_sums[code], ticket.entry_seq, share
            )

    # ----------------------------------------------------------------- indexes

    def _reset_day(self, day: date | None) -> None:
        self._day = day
        self._tickets = {}
        self._numbers = {}
        self._queues = {(s, p): OrderedDict() for s in self._services for p in (True, False)}
        self._reserved = {c: OrderedDict() for c in self._counters}
        self._reserved_count = dict.fromkeys(self._services, 0)
        self._overtakes = {code: [] for code in self._services}
        self._overtake_sums = {code: [0.0] for code in self._services}
        self._charged_all = dict.fromkeys(self._services, 0.0)
        self._charged_base = {}
        self._open = set()
        self._current = {}
        self._cycle = dict.fromkeys(self._counters, 0)
        self._next_entry = 1
        self._issued_raw = {}
        self.mutations += 1

    def _leave(self, old: Ticket) -> None:
        if old.state is TicketState.WAITING:
            if old.target_counter is not None:
                reserved = self._reserved[old.target_counter]
                if old.id in reserved:
                    del reserved[old.id]
                    self._reserved_count[old.service] -= 1
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
                reserved = self._reserved[ticket.target_counter]
                if ticket.id not in reserved:
                    self._reserved_count[ticket.service] += 1
                reserved[ticket.id] = None
            else:
                insert_by_entry(
                    self._queues[(ticket.service, ticket.priority)], self._tickets, ticket
                )
                if not ticket.priority:
                    self._charged_base[ticket.id] = self._charged_all[ticket.service]
        elif ticket.state is TicketState.CALLED and ticket.counter_id is not None:
            self._current[ticket.counter_id] = ticket.id

    def _head(self, service: str, priority: bool) -> Ticket | None:
        queue = self._queues[(service, priority)]
        return self._tickets[next(iter(queue))] if queue else None

    # ----------------------------------------------------------------- lookups

    def _require_day(self) -> date:
        if self._day is None:
            raise QueueError("no business day yet")
        return self._day

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


def position(queue: OrderedDict[str, None], tid: str) -> int:
    """Return a ticket's place in a queue (0 = head; the length if it is not there)."""
    for i, key in enumerate(queue):
        if key == tid:
            return i
    return len(queue)
