"""Event sourcing holds: the store, reopened at random points, stays identical to a pure engine.

Also: stored event records round-trip through JSON, and malformed records raise QueueError.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.queue import (
    Actor,
    ManualClock,
    QueueEngine,
    QueueError,
    QueueEvent,
    QueueStore,
    TicketState,
)
from tests.test_queue_config import COUNTERS, SERVICES, queue_config

STAFF = Actor("s-02", "tablet-2")

_op = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(SERVICES), st.sampled_from([None, "wealth"])),
    st.tuples(st.just("call"), st.sampled_from(sorted(COUNTERS)), st.none()),
    st.tuples(st.just("finish"), st.integers(0, 30), st.none()),
    st.tuples(st.just("no_show"), st.integers(0, 30), st.none()),
    st.tuples(st.just("transfer"), st.integers(0, 30), st.sampled_from(SERVICES)),
    st.tuples(st.just("wait"), st.integers(0, 20), st.none()),
    st.tuples(st.just("reopen"), st.none(), st.none()),
)


def _apply(target: QueueEngine | QueueStore, op: tuple[str, object, object]) -> str:
    """Run one operation; return a comparable summary of its result or error."""
    kind, a, b = op
    tickets = target.tickets()
    try:
        if kind == "issue":
            outcome = target.issue(str(a), STAFF, tier=b if isinstance(b, str) else None)
        elif kind == "call":
            outcome = target.call_next(str(a), STAFF)
        elif not tickets:
            return "none"
        else:
            ticket = tickets[int(str(a)) % len(tickets)]
            if kind == "finish":
                outcome = target.finish(ticket.id, STAFF)
            elif kind == "no_show":
                outcome = target.no_show(ticket.id, STAFF)
            else:
                outcome = target.transfer(ticket.id, STAFF, to_service=str(b))
    except QueueError as exc:
        return type(exc).__name__
    return ",".join(f"{e.kind.value}:{e.ticket.id if e.ticket else ''}" for e in outcome.events)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_op, min_size=5, max_size=60), cap=st.sampled_from([0.0, 6.0]))
def test_store_with_restarts_matches_the_pure_engine(
    ops: list[tuple[str, object, object]], cap: float
) -> None:
    config = queue_config()
    policy = config.queue.model_copy(update={"aging_cap_min": cap})
    clock = ManualClock(datetime(2026, 3, 14, 1, 0, tzinfo=UTC))
    engine = QueueEngine(config, clock, policy=policy)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "queue.db"
        store = QueueStore(db, config, clock, policy=policy, synchronous="NORMAL")
        for counter in COUNTERS:
            engine.open_counter(counter, STAFF)
            store.open_counter(counter, STAFF)
        for op in ops:
            if op[0] == "wait":
                clock.advance(minutes=int(str(op[1])))
            elif op[0] == "reopen":
                store.close()
                store = QueueStore(db, config, clock, policy=policy, synchronous="NORMAL")
            else:
                assert _apply(engine, op) == _apply(store, op)
            assert store.tickets() == engine.tickets()
            for ticket in engine.tickets():
                if ticket.state is TicketState.WAITING:
                    assert store.engine.priority_delay_min(ticket.id) == (
                        engine.priority_delay_min(ticket.id)
                    )
            for service in SERVICES:
                assert store.engine.stats.range_min(service) == engine.stats.range_min(service)
        store.close()


def test_event_json_round_trip() -> None:
    clock = ManualClock(datetime(2026, 3, 14, 1, 0, tzinfo=UTC))
    engine = QueueEngine(queue_config(), clock)
    engine.open_counter("K1", STAFF)
    events = list(engine.issue(["cash", "account"], Actor(None, "K1"), tier="wealth").events)
    clock.advance(minutes=3)
    events += engine.call_next("K1", STAFF).events
    clock.advance(minutes=3)
    events += engine.call_next("K1", STAFF).events
    for event in events:
        assert QueueEvent.from_json(event.to_json()) == event


@settings(max_examples=200, deadline=None)
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(["kind", "at", "day", "ticket", "actor", "counter_id", "detail"]),
            st.one_of(
                st.none(),
                st.text(max_size=20),
                st.integers(-(2**63), 2**63 - 1),
                st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
            ),
        ).map(orjson.dumps),
    )
)
def test_malformed_event_records_raise_queue_error(raw: bytes) -> None:
    with contextlib.suppress(QueueError):
        QueueEvent.from_json(raw)
