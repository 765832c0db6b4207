"""Read-only views of the queue: tickets, wait estimates and the lobby dashboard.

Every wait figure here comes from the one `WaitEstimator`: a waiting ticket's estimate, the
range a ticket issued now would get (the kiosk menu and the display) and the dashboard's.
"""

from __future__ import annotations

from datetime import datetime

from branch_hub.queue._errors import UnknownTier
from branch_hub.queue._estimate import QueueSnapshot, WaitRange
from branch_hub.queue._model import (
    CounterView,
    Dashboard,
    ServiceLoad,
    Ticket,
    TicketState,
    WaitEstimate,
)
from branch_hub.queue._numbering import business_day
from branch_hub.queue._state import QueueState, position

__all__ = ["QueueViews"]


class QueueViews(QueueState):
    """Queries over the queue state; nothing here changes it."""

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

    # ----------------------------------------------------------------- estimates

    def estimate(self, ticket_id: str) -> WaitEstimate:
        """Estimate a waiting ticket's remaining wait as a median-to-p80 range in minutes."""
        ticket = self._ticket(ticket_id)
        if ticket.state is not TicketState.WAITING:
            return WaitEstimate(ticket.id, 0, 0.0, 0.0)
        snapshot = self.snapshot()
        if ticket.target_counter is not None:
            place = position(self._reserved[ticket.target_counter], ticket.id)
            found = self.estimator.for_reserved(snapshot, ticket.service, place)
        else:
            place = position(self._queues[(ticket.service, ticket.priority)], ticket.id)
            found = self.estimator.for_queued(snapshot, ticket.service, place, ticket.priority)
        return WaitEstimate(
            ticket.id, found.ahead, found.low_min, found.high_min, found.point_min, found.next
        )

    def estimate_new(
        self, service: str, tier: str | None = None, *, appointment: bool = False
    ) -> WaitRange:
        """Return the range a ticket for a service issued now would get (the kiosk menu's)."""
        self._service(service)
        if tier is not None and tier not in self._tier_priority:
            raise UnknownTier(f"unknown tier {tier!r}")
        priority = self.estimator.is_priority(tier, appointment)
        return self.estimator.for_new(self.snapshot_for_issue(self.now()), service, priority)

    def snapshot_for_issue(self, now: datetime) -> QueueSnapshot:
        """Return the snapshot a ticket issued at `now` meets: after the day's rollover if the
        clock has passed midnight (yesterday drained, its called tickets' times counted)."""
        if self._day is not None and business_day(now, self._zone) <= self._day:
            return self.snapshot()
        stats = self.stats.copy()
        for ticket in sorted(self._tickets.values(), key=lambda t: t.entry_seq):
            if ticket.state is TicketState.CALLED:
                served_s = round((now - (ticket.called_at or now)).total_seconds(), 3)
                stats.add(ticket.service, served_s)
        nobody = dict.fromkeys(self._services, 0)
        return QueueSnapshot(
            priority=nobody,
            ordinary=nobody,
            reserved=nobody,
            open_counters=frozenset(),
            busy_counters=frozenset(),
            service_min={code: stats.range_min(code) for code in self._services},
        )

    # ----------------------------------------------------------------- dashboard

    def dashboard(self) -> Dashboard:
        """Return the lobby manager's view of queues and counters."""
        now = self.now()
        loads, longest = self._service_loads(now)
        calls = tuple(
            sorted(
                (self._tickets[tid] for tid in self._current.values()),
                key=lambda t: (t.called_at or t.issued_at, t.id),
            )
        )
        snapshot = self.snapshot()
        joining = self.snapshot_for_issue(now)
        return Dashboard(
            at=now,
            day=self._day,
            services=loads,
            counters=self._counter_views(),
            current_calls=calls,
            parked=sum(1 for t in self._tickets.values() if t.state is TicketState.PARKED),
            longest_wait_min=round(longest, 2),
            waiting={code: snapshot.waiting(code) for code in self._services},
            new_ticket_wait=self.estimator.menu(joining, priority=False),
            new_priority_wait=self.estimator.menu(joining, priority=True),
        )

    def _service_loads(self, now: datetime) -> tuple[tuple[ServiceLoad, ...], float]:
        """Return each service's line and the longest wait of any waiting ticket."""
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
        return tuple(loads), longest

    def _counter_views(self) -> tuple[CounterView, ...]:
        return tuple(
            CounterView(
                counter_id=c.id,
                number=c.number,
                open=c.id in self._open,
                current=self.current(c.id),
                reserved_waiting=len(self._reserved[c.id]),
            )
            for c in self._counters.values()
        )
