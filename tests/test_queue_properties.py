"""Queue invariants under random operation sequences (hypothesis stateful testing).

A shadow model follows the events the engine returns and checks, independently of the
engine's own bookkeeping: numbers never repeat in a business day; within a service and class
tickets are called first-in first-out; the aging cap holds (no priority ticket is called past
a due ordinary ticket, and the charged delay never exceeds the cap by more than one charge);
no ticket is served twice; after draining, every ticket is finished, a no-show or cancelled;
and replaying the day's events rebuilds the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from branch_hub.config import PriorityPolicy, QueuePolicy
from branch_hub.queue import (
    Actor,
    EventKind,
    InvalidTransition,
    ManualClock,
    QueueEngine,
    QueueError,
    QueueEvent,
    Ticket,
    TicketState,
)
from tests.test_queue_config import COUNTERS, SERVICES, queue_config

ACTOR = Actor("staff-1", "tab-1")
EPS = 1e-6


@dataclass
class Shadow:
    ticket: Ticket
    delay: float = 0.0


class QueueMachine(RuleBasedStateMachine):
    """Drive a QueueEngine with random operations and check the invariants after each."""

    def __init__(self) -> None:
        super().__init__()
        self.config = queue_config()
        # 08:00 in Shanghai
        self.clock = ManualClock(datetime(2026, 3, 14, 0, 0, tzinfo=UTC))
        self.engine = QueueEngine(self.config, self.clock)
        self.shadow: dict[str, Shadow] = {}
        self.numbers: dict[date, set[str]] = {}
        self.finished_visits: set[str] = set()
        self.day_events: list[QueueEvent] = []
        self.day: date | None = None
        self.open: set[str] = set()
        self.max_charge = 0.0

    @initialize(
        policy=st.sampled_from([PriorityPolicy.STRICT, PriorityPolicy.WEIGHTED]),
        pw=st.integers(1, 3),
        ow=st.integers(1, 2),
        cap=st.sampled_from([0.0, 5.0, 15.0]),
    )
    def choose_policy(self, policy: PriorityPolicy, pw: int, ow: int, cap: float) -> None:
        chosen = QueuePolicy(
            policy=policy,
            priority_weight=pw,
            ordinary_weight=ow,
            aging_cap_min=cap,
            no_show_grace_s=120,
        )
        self.engine = QueueEngine(self.config, self.clock, policy=chosen)
        for counter in COUNTERS:
            assert self.run(self.engine.open_counter, counter, ACTOR)

    # --------------------------------------------------------------- shadow

    def absorb(self, events: tuple[QueueEvent, ...]) -> None:
        cap = self.engine.policy.aging_cap_min
        for event in events:
            if self.day is None or event.day > self.day:
                if self.day is not None:
                    assert all(s.ticket.is_terminal for s in self.shadow.values())
                self.shadow.clear()
                self.day_events = []
                self.open.clear()
                self.day = event.day
            assert event.day == self.day
            self.day_events.append(event)
            if event.kind is EventKind.COUNTER_OPENED:
                self.open.add(str(event.counter_id))
            elif event.kind is EventKind.COUNTER_CLOSED:
                self.open.discard(str(event.counter_id))
            new = event.ticket
            if new is None:
                continue
            old = self.shadow.get(new.id)
            if event.kind is EventKind.TICKET_ISSUED:
                assert old is None
                seen = self.numbers.setdefault(event.day, set())
                assert new.number not in seen, f"number {new.number} reused on {event.day}"
                seen.add(new.number)
            else:
                assert old is not None
                if old.ticket.is_terminal:
                    # only a no-show may come back, by a recall
                    assert old.ticket.state is TicketState.NO_SHOW
                    assert event.kind is EventKind.RECALLED
            if event.kind is EventKind.CALLED:
                assert old is not None
                self.check_call(old.ticket, str(event.counter_id), str(event.detail["mode"]))
                if new.priority and event.detail["mode"] != "reserved" and cap > 0:
                    self.charge(new, str(event.counter_id))
            if event.kind is EventKind.FINISHED and event.detail["visit_done"]:
                assert new.id not in self.finished_visits, f"{new.number} served twice"
                self.finished_visits.add(new.id)
            entered = new.state is TicketState.WAITING and (
                old is None
                or old.ticket.state is not TicketState.WAITING
                or old.ticket.entry_seq != new.entry_seq
            )
            delay = 0.0 if entered or old is None else old.delay
            self.shadow[new.id] = Shadow(new, delay)

    def waiting(self) -> list[Ticket]:
        return [s.ticket for s in self.shadow.values() if s.ticket.state is TicketState.WAITING]

    def check_call(self, ticket: Ticket, counter: str, mode: str) -> None:
        assert ticket.state is TicketState.WAITING, f"{ticket.number} called while {ticket.state}"
        waiting = self.waiting()
        if mode == "reserved":
            assert ticket.target_counter == counter
            mine = [t.entry_seq for t in waiting if t.target_counter == counter]
            assert ticket.entry_seq == min(mine)
            return
        assert ticket.target_counter is None
        assert ticket.service in COUNTERS[counter]
        same = [
            t.entry_seq
            for t in waiting
            if t.target_counter is None
            and t.service == ticket.service
            and t.priority == ticket.priority
        ]
        assert ticket.entry_seq == min(same), f"FIFO broken for {ticket.number}"
        cap = self.engine.policy.aging_cap_min
        if ticket.priority and cap > 0:
            for t in waiting:
                if not t.priority and t.target_counter is None and t.service in COUNTERS[counter]:
                    delay = self.shadow[t.id].delay
                    assert delay < cap - EPS or mode == "due", (
                        f"priority {ticket.number} called past due {t.number} ({delay:.2f} min)"
                    )
        if (
            mode == "policy"
            and not ticket.priority
            and self.engine.policy.policy is PriorityPolicy.STRICT
        ):
            assert not any(
                t.priority and t.target_counter is None and t.service in COUNTERS[counter]
                for t in waiting
            ), "strict policy called an ordinary ticket while priority ones wait"

    def charge(self, priority: Ticket, counter: str) -> None:
        median = self.engine.stats.median_min(priority.service)
        for code in COUNTERS[counter]:
            share = median / self.engine.capacity(code)
            self.max_charge = max(self.max_charge, share)
            for shadow in self.shadow.values():
                t = shadow.ticket
                if (
                    t.state is TicketState.WAITING
                    and not t.priority
                    and t.target_counter is None
                    and t.service == code
                    and (code != priority.service or t.entry_seq < priority.entry_seq)
                ):
                    shadow.delay += share

    def run(self, operation: Any, *args: Any, **kwargs: Any) -> bool:
        try:
            outcome = operation(*args, **kwargs)
        except QueueError:
            return False
        self.absorb(outcome.events)
        return True

    def pick(self, data: st.DataObject) -> Ticket | None:
        if not self.shadow:
            return None
        tid = data.draw(st.sampled_from(sorted(self.shadow)))
        return self.shadow[tid].ticket

    # --------------------------------------------------------------- rules

    @rule(
        services=st.lists(st.sampled_from(SERVICES), min_size=1, max_size=2),
        tier=st.sampled_from([None, "mass", "basic", "wealth", "private"]),
        appointment=st.integers(0, 5).map(lambda n: n == 0),
    )
    def issue(self, services: list[str], tier: str | None, appointment: bool) -> None:
        assert self.run(self.engine.issue, services, ACTOR, tier=tier, appointment=appointment)

    @rule(services=st.lists(st.sampled_from(SERVICES), min_size=1, max_size=6))
    def rush(self, services: list[str]) -> None:
        for code in services:
            assert self.run(self.engine.issue, code, ACTOR, tier="mass")

    @rule(minutes=st.integers(0, 8))
    def serve_round(self, minutes: int) -> None:
        for counter in sorted(COUNTERS):
            self.clock.advance(minutes=minutes)
            self.run(self.engine.call_next, counter, ACTOR)

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def open_counter(self, counter: str) -> None:
        assert self.run(self.engine.open_counter, counter, ACTOR)

    @rule(counter=st.sampled_from(sorted(COUNTERS)), roll=st.integers(0, 4))
    def close_counter(self, counter: str, roll: int) -> None:
        if roll:
            return
        busy = self.engine.current(counter) is not None
        assert self.run(self.engine.close_counter, counter, ACTOR) is not busy or self.rolled()

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def call_next(self, counter: str) -> None:
        self.run(self.engine.call_next, counter, ACTOR)

    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        ticket = self.pick(data)
        if ticket is not None:
            ok = self.run(self.engine.finish, ticket.id, ACTOR)
            assert ok == (ticket.state is TicketState.CALLED) or self.rolled()

    @rule(data=st.data())
    def no_show(self, data: st.DataObject) -> None:
        ticket = self.pick(data)
        if ticket is not None:
            ok = self.run(self.engine.no_show, ticket.id, ACTOR)
            assert ok == (ticket.state is TicketState.CALLED) or self.rolled()

    @rule(data=st.data())
    def recall(self, data: st.DataObject) -> None:
        ticket = self.pick(data)
        if ticket is not None:
            ok = self.run(self.engine.recall, ticket.id, ACTOR)
            if ticket.state in (TicketState.WAITING, TicketState.PARKED, TicketState.FINISHED):
                assert not ok

    @rule(data=st.data())
    def park(self, data: st.DataObject) -> None:
        ticket = self.pick(data)
        if ticket is not None:
            ok = self.run(self.engine.park, ticket.id, ACTOR)
            assert ok == (ticket.state is TicketState.CALLED) or self.rolled()

    @rule(data=st.data(), counter=st.sampled_from(sorted(COUNTERS)))
    def resume(self, data: st.DataObject, counter: str) -> None:
        ticket = self.pick(data)
        if ticket is not None:
            ok = self.run(self.engine.resume, ticket.id, counter, ACTOR)
            if ticket.state is not TicketState.PARKED:
                assert not ok

    @rule(
        data=st.data(),
        service=st.sampled_from([None, *SERVICES]),
        counter=st.sampled_from([None, *sorted(COUNTERS)]),
    )
    def transfer(self, data: st.DataObject, service: str | None, counter: str | None) -> None:
        ticket = self.pick(data)
        if ticket is not None:
            ok = self.run(
                self.engine.transfer, ticket.id, ACTOR, to_service=service, to_counter=counter
            )
            if ticket.is_terminal or (service is None and counter is None):
                assert not ok

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        ticket = self.pick(data)
        if ticket is not None:
            ok = self.run(self.engine.cancel, ticket.id, ACTOR)
            assert ok == (not ticket.is_terminal) or self.rolled()

    @rule(minutes=st.integers(0, 12))
    def advance(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @rule(roll=st.integers(0, 19))
    def next_morning(self, roll: int) -> None:
        if roll:  # rare: jump past the branch's midnight so the day rolls over
            return
        self.clock.advance(minutes=24 * 60)
        for counter in COUNTERS:
            self.run(self.engine.open_counter, counter, ACTOR)

    @rule(roll=st.integers(0, 19))
    def close_day(self, roll: int) -> None:
        if roll:  # hypothesis picks rules evenly; closing the day should be rare
            return
        assert self.run(self.engine.close_day, ACTOR)
        assert all(s.ticket.is_terminal for s in self.shadow.values())

    def rolled(self) -> bool:
        """Whether the business day changed under the last operation (tickets were closed)."""
        return self.engine.day != self.day

    # --------------------------------------------------------------- invariants

    @invariant()
    def engine_matches_shadow(self) -> None:
        if self.engine.day != self.day:
            return
        for tid, shadow in self.shadow.items():
            assert self.engine.ticket(tid) == shadow.ticket

    @invariant()
    def aging_charges_match_definition(self) -> None:
        cap = self.engine.policy.aging_cap_min
        if cap <= 0 or self.engine.day != self.day:
            return
        for shadow in self.shadow.values():
            t = shadow.ticket
            if t.state is TicketState.WAITING and not t.priority and t.target_counter is None:
                charged = self.engine.priority_delay_min(t.id)
                assert abs(charged - shadow.delay) < EPS
                assert charged < cap + self.max_charge + EPS, f"{t.number} delayed {charged:.2f}"

    def teardown(self) -> None:
        if self.day is None or self.engine.day != self.day:
            return
        replayed = QueueEngine(self.config, self.clock, policy=self.engine.policy)
        replayed.replay(self.day_events)
        assert replayed.tickets() == self.engine.tickets()
        outcome = self.engine.close_day(ACTOR)
        self.absorb(outcome.events)
        assert all(s.ticket.is_terminal for s in self.shadow.values())
        for tid in self.shadow:
            with pytest.raises(InvalidTransition):
                self.engine.finish(tid, ACTOR)


QueueMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueInvariants = QueueMachine.TestCase
