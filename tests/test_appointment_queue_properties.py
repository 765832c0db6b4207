"""Booked customers in the queue (hypothesis): their reserved tickets join the priority class,
are called first-in first-out within it and ahead of ordinary customers by the policy, and the
aging cap still protects ordinary customers however many bookings arrive.

One counter (K3, cash) so every call chooses among the same queue; a random script of
arrivals (ordinary, priority tier, booked), clock steps and calls.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.config import PriorityPolicy, QueuePolicy
from branch_hub.queue import Actor, ManualClock, QueueEngine, Ticket, TicketState
from tests.test_queue_config import queue_config

ACTOR = Actor("staff-1", "tab-1")
EPS = 1e-6
STEP = st.one_of(
    st.just(("ordinary", 0)),
    st.just(("tier", 0)),
    st.just(("booked", 0)),
    st.tuples(st.just("wait"), st.integers(1, 9)),
    st.tuples(st.just("call"), st.integers(0, 6)),
)


def _engine(strict: bool, cap: float) -> tuple[QueueEngine, ManualClock]:
    clock = ManualClock(datetime(2026, 3, 14, 1, 0, tzinfo=UTC))
    policy = QueuePolicy(
        policy=PriorityPolicy.STRICT if strict else PriorityPolicy.WEIGHTED,
        priority_weight=3,
        ordinary_weight=1,
        aging_cap_min=cap,
    )
    engine = QueueEngine(queue_config(), clock, policy=policy)
    engine.open_counter("K3", ACTOR)
    return engine, clock


def _waiting(engine: QueueEngine) -> list[Ticket]:
    return sorted(
        (t for t in engine.tickets() if t.state is TicketState.WAITING), key=lambda t: t.entry_seq
    )


def _check_call(engine: QueueEngine, strict: bool) -> None:
    waiting = _waiting(engine)
    due = [t for t in waiting if not t.priority and engine.is_due(t.id)]
    outcome = engine.call_next("K3", ACTOR)
    called = outcome.ticket
    if called is None:
        assert not waiting
        return
    mode = outcome.events[-1].detail["mode"]
    same_class = [t for t in waiting if t.priority == called.priority]
    assert called.id == same_class[0].id, "first-in first-out within a class"
    if due:
        assert mode == "due", "an ordinary customer past the aging cap is called first"
        assert called.id == next(t for t in waiting if not t.priority).id
    elif strict and any(t.appointment for t in waiting):
        assert called.priority, "a booked customer waits: the strict policy calls the class"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(STEP, min_size=1, max_size=60),
    strict=st.booleans(),
    cap=st.sampled_from([0.0, 5.0, 15.0]),
)
def test_booked_tickets_first_and_aging_cap_holds(
    steps: list[tuple[str, int]], strict: bool, cap: float
) -> None:
    engine, clock = _engine(strict, cap)
    worst = 0.0
    for kind, amount in steps:
        if kind == "ordinary":
            engine.issue("cash", ACTOR, tier="mass")
        elif kind == "tier":
            engine.issue("cash", ACTOR, tier="private")
        elif kind == "booked":
            ticket = engine.issue("cash", ACTOR, appointment=True).ticket
            assert ticket is not None
            assert ticket.priority
            assert ticket.appointment
        elif kind == "wait":
            clock.advance(minutes=amount)
        else:
            clock.advance(minutes=amount)
            _check_call(engine, strict)
        share = engine.stats.median_min("cash") / engine.capacity("cash")
        worst = max(worst, share)
        if cap > 0:
            for t in _waiting(engine):
                if not t.priority:
                    assert engine.priority_delay_min(t.id) < cap + worst + EPS
