"""One wait estimate: the kiosk menu's range is the range the next ticket gets, at the same clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.config import PriorityPolicy, QueuePolicy
from branch_hub.queue import (
    Actor,
    ManualClock,
    QueueEngine,
    QueueError,
    QueueEvent,
    QueueStore,
    UnknownService,
    UnknownTier,
    WaitEstimator,
    WaitRange,
    menu_estimates,
    waiting_snapshot,
)
from tests.test_queue_config import COUNTERS, SERVICES, queue_config

STAFF = Actor("s-07", "tablet-3")
KIOSK = Actor(None, "K1")
START = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
TIERS = [None, "mass", "basic", "wealth", "private"]

policies = st.builds(
    QueuePolicy,
    policy=st.sampled_from(list(PriorityPolicy)),
    priority_weight=st.integers(1, 3),
    ordinary_weight=st.integers(1, 2),
    aging_cap_min=st.sampled_from([0.0, 5.0, 15.0]),
)
operations = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.sampled_from(TIERS)),
    st.tuples(st.just("visit"), st.permutations(SERVICES), st.sampled_from(TIERS)),
    st.tuples(st.just("call"), st.sampled_from(sorted(COUNTERS))),
    st.tuples(st.just("open"), st.sampled_from(sorted(COUNTERS))),
    st.tuples(st.just("close"), st.sampled_from(sorted(COUNTERS))),
    st.tuples(st.just("finish"), st.integers(0, 40)),
    st.tuples(st.just("transfer"), st.integers(0, 40), st.sampled_from(sorted(COUNTERS))),
    st.tuples(st.just("wait"), st.floats(0.1, 30.0)),
    # now and then past the branch's midnight, so the next ticket meets a new business day
    st.tuples(st.just("wait"), st.sampled_from([600.0, 960.0])),
)


def _run(eng: QueueEngine, clock: ManualClock, op: tuple[Any, ...]) -> list[QueueEvent]:
    """Apply one random operation; refused ones change nothing and are skipped."""
    kind = op[0]
    tickets = eng.tickets()
    try:
        if kind == "issue":
            return list(eng.issue(op[1], KIOSK, tier=op[2]).events)
        if kind == "visit":
            return list(eng.issue(list(op[1][:2]), KIOSK, tier=op[2]).events)
        if kind == "call":
            return list(eng.call_next(op[1], STAFF).events)
        if kind == "open":
            return list(eng.open_counter(op[1], STAFF).events)
        if kind == "close":
            return list(eng.close_counter(op[1], STAFF).events)
        if kind == "finish" and tickets:
            return list(eng.finish(tickets[op[1] % len(tickets)].id, STAFF).events)
        if kind == "transfer" and tickets:
            ticket = tickets[op[1] % len(tickets)]
            return list(eng.transfer(ticket.id, STAFF, to_counter=op[2]).events)
        if kind == "wait":
            clock.advance(minutes=op[1])
    except QueueError:
        pass
    return []


def _busy_branch(
    policy: QueuePolicy, ops: list[tuple[Any, ...]]
) -> tuple[QueueEngine, list[QueueEvent]]:
    clock = ManualClock(START)
    eng = QueueEngine(queue_config(), clock, policy=policy)
    events: list[QueueEvent] = []
    for op in ops:
        events += _run(eng, clock, op)
    return eng, events


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies,
    ops=st.lists(operations, max_size=60),
    service=st.sampled_from(SERVICES),
)
def test_menu_range_is_the_next_tickets_range(
    policy: QueuePolicy, ops: list[tuple[Any, ...]], service: str
) -> None:
    eng, _events = _busy_branch(policy, ops)
    menu = menu_estimates(eng)[service]
    assert eng.estimate_new(service) == menu
    pushed = waiting_snapshot(eng)
    assert pushed["wait_min"][service] == list(menu.whole_minutes())
    assert pushed["waiting"] == {code: len(eng.waiting(code)) for code in SERVICES}

    issued = eng.issue(service, KIOSK).ticket
    assert issued is not None
    estimate = eng.estimate(issued.id)
    assert estimate.range == menu
    assert estimate.whole_minutes() == menu.whole_minutes()


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=policies,
    ops=st.lists(operations, max_size=60),
    service=st.sampled_from(SERVICES),
    tier=st.sampled_from(TIERS),
)
def test_a_tiered_customers_menu_range_is_their_tickets_range(
    policy: QueuePolicy, ops: list[tuple[Any, ...]], service: str, tier: str | None
) -> None:
    eng, _events = _busy_branch(policy, ops)
    expected = eng.estimate_new(service, tier)
    priority = WaitEstimator(queue_config(), policy).is_priority(tier)
    assert menu_estimates(eng.dashboard(), priority=priority)[service] == expected
    issued = eng.issue(service, KIOSK, tier=tier).ticket
    assert issued is not None
    assert issued.priority is priority
    assert eng.estimate(issued.id).range == expected


def test_the_menu_no_longer_disagrees_with_the_ticket() -> None:
    # Two cash counters open, one busy; four waiting. The old menu said count x median /
    # counters; the ticket counts the customer's own half service and the shared counter.
    clock = ManualClock(START)
    eng = QueueEngine(queue_config(), clock)
    for counter in ("K1", "K3"):
        eng.open_counter(counter, STAFF)
    for _ in range(5):
        eng.issue("cash", KIOSK)
    eng.call_next("K3", STAFF)
    clock.advance(minutes=2)
    menu = menu_estimates(eng)["cash"]
    old_menu_low = 4 * 5.0 / 2  # count x median / open counters serving cash
    assert menu.low_min != pytest.approx(old_menu_low)
    issued = eng.issue("cash", KIOSK).ticket
    assert issued is not None
    assert eng.estimate(issued.id).whole_minutes() == menu.whole_minutes()
    assert menu.ahead == 4


def test_estimate_new_refuses_unknown_codes() -> None:
    eng = QueueEngine(queue_config(), ManualClock(START))
    with pytest.raises(UnknownService):
        eng.estimate_new("mortgage")
    with pytest.raises(UnknownTier):
        eng.estimate_new("cash", "platinum")


def test_whole_minutes_never_print_an_empty_range() -> None:
    assert WaitRange(0, 0.0, 0.0, next=True).whole_minutes() == (0, 0)
    assert WaitRange(0, 0.0, 0.0).whole_minutes() == (0, 1)  # (0, 0) is kept for "next"
    assert WaitRange(2, 7.2, 7.9).whole_minutes() == (7, 8)
    assert WaitRange(2, 7.0, 7.0).whole_minutes() == (7, 7)


def test_the_store_menu_matches_the_ticket_it_issues(tmp_path: Path) -> None:
    clock = ManualClock(START)
    with QueueStore(tmp_path / "q.db", queue_config(), clock, synchronous="NORMAL") as store:
        store.open_counter("K1", STAFF)
        for service in ("cash", "account", "cash", "wealth"):
            store.issue(service, KIOSK)
        store.call_next("K1", STAFF)
        clock.advance(minutes=3)
        menu = menu_estimates(store)
        assert waiting_snapshot(store)["waiting"] == {"cash": 1, "account": 1, "wealth": 1}
        issued = store.issue("account", KIOSK).ticket
        assert issued is not None
        assert store.estimate(issued.id).range == menu["account"]


def test_past_midnight_the_menu_counts_what_the_rollover_will_finish() -> None:
    # Four 4-minute cash services, a fifth still at the counter when the day ends: the ticket
    # issued after midnight first closes yesterday, which adds that fifth duration to the
    # statistics (five samples replace the typical time). The menu must already know.
    clock = ManualClock(START)
    eng = QueueEngine(queue_config(), clock)
    eng.open_counter("K3", STAFF)
    for _ in range(5):
        eng.issue("cash", KIOSK)
        eng.call_next("K3", STAFF)
        clock.advance(minutes=4)
    eng.issue("cash", KIOSK)
    assert eng.stats.samples("cash") == 4
    clock.set(datetime(2026, 3, 14, 16, 30, tzinfo=UTC))  # 00:30 on the 15th in Shanghai
    menu = menu_estimates(eng)["cash"]
    assert menu.ahead == 0
    issued = eng.issue("cash", KIOSK).ticket
    assert issued is not None
    assert issued.number == "A001"
    assert eng.stats.samples("cash") == 5
    assert eng.estimate(issued.id).range == menu
