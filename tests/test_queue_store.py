"""Queue store: committed events with a monotonic seq, restart recovery, and concurrent callers.

Concurrency is tested for real: threads sharing one store, threads with one connection each,
and separate processes (this module run as `python -m tests.test_queue_store caller ...`)
calling next on the same SQLite file at the same instant.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from branch_hub.queue import (
    Actor,
    EventKind,
    InvalidTransition,
    ManualClock,
    QueueStore,
    StoreError,
    TicketState,
    UnknownTicket,
)
from tests.test_queue_config import queue_config

STAFF = Actor("s-01", "tablet-1")
KIOSK = Actor(None, "K1")
START = datetime(2026, 3, 14, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
ROOT = Path(__file__).resolve().parent.parent


def open_store(path: Path, clock: ManualClock | None = None, extra: int = 0) -> QueueStore:
    return QueueStore(path, queue_config(extra), clock or ManualClock(START))


def test_operations_commit_events_with_increasing_seq(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    clock = ManualClock(START)
    with open_store(db, clock) as store:
        store.open_counter("K3", STAFF)
        issued = [store.issue("cash", KIOSK) for _ in range(3)]
        clock.advance(minutes=2)
        called = store.call_next("K3", STAFF)
        seqs = [e.seq for o in issued for e in o.events] + [e.seq for e in called.events]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)
        assert store.last_seq == seqs[-1]
        replayed = store.events_since(0)
        assert [e.seq for e in replayed] == [1, *seqs]
        assert replayed[-1] == called.events[-1]
        assert [e.kind for e in store.events_since(seqs[-2])] == [EventKind.CALLED]
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = raw.execute("SELECT number, state FROM tickets ORDER BY number").fetchall()
    assert rows == [("A001", "called"), ("A002", "waiting"), ("A003", "waiting")]
    assert raw.execute("SELECT last FROM numbering").fetchall() == [(3,)]
    # the store holds no personal data: only these columns exist
    columns = {r[1] for r in raw.execute("PRAGMA table_info(tickets)")}
    assert columns == {
        "id", "day", "number", "service", "state", "priority", "tier",
        "visit_ref", "issued_at", "last_seq", "body",
    }  # fmt: skip
    raw.close()


def test_restart_recovers_state_numbering_and_statistics(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    clock = ManualClock(START)
    with open_store(db, clock) as store:
        store.open_counter("K3", STAFF)
        for _ in range(8):
            store.issue("cash", KIOSK)
        for _ in range(6):
            clock.advance(minutes=3)
            store.call_next("K3", STAFF)
        before = store.tickets()
        stats = store.engine.stats.range_min("cash")
        seq = store.last_seq
    with open_store(db, clock) as store:
        assert store.tickets() == before
        assert store.last_seq == seq
        assert store.engine.stats.range_min("cash") == stats == (3.0, 3.0)
        assert store.engine.open_counters == frozenset({"K3"})
        assert store.issue("cash", KIOSK).ticket.number == "A009"  # type: ignore[union-attr]
    # next business day: numbering restarts, the old day's tickets were closed, stats carry over
    clock.advance(minutes=24 * 60)
    with open_store(db, clock) as store:
        outcome = store.issue("cash", KIOSK)
        assert outcome.ticket is not None
        assert outcome.ticket.number == "A001"
        assert outcome.ticket.id == "20260315-A001"
        assert store.engine.stats.range_min("cash") == (3.0, 3.0)
    with open_store(db, clock) as store:
        assert [t.number for t in store.tickets()] == ["A001"]
        old = store.stored_ticket("20260314-A009")
        assert old is not None
        assert old.state is TicketState.CANCELLED


def test_failed_operation_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    clock = ManualClock(START)
    with open_store(db, clock) as store:
        ticket = store.issue("cash", KIOSK).ticket
        assert ticket is not None
        seq = store.last_seq
        with pytest.raises(InvalidTransition):
            store.finish(ticket.id, STAFF)
        assert store.events_since(seq) == []
        # a failure after a rollover discards the rollover too; the next operation redoes it
        clock.advance(minutes=24 * 60)
        with pytest.raises(UnknownTicket):
            store.finish(ticket.id, STAFF)
        assert store.events_since(seq) == []
        assert store.ticket(ticket.id).state is TicketState.WAITING
        outcome = store.tick()
        assert [e.kind for e in outcome.events] == [EventKind.CANCELLED]
        stored = store.stored_ticket(ticket.id)
        assert stored is not None
        assert stored.state is TicketState.CANCELLED


def test_two_connections_see_each_others_changes(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    clock = ManualClock(START)
    with open_store(db, clock) as kiosk, open_store(db, clock) as counter:
        counter.open_counter("K3", STAFF)
        issued = kiosk.issue("cash", KIOSK).ticket
        assert issued is not None
        called = counter.call_next("K3", STAFF).ticket
        assert called is not None
        assert called.id == issued.id
        assert kiosk.ticket(issued.id).state is TicketState.CALLED
        assert kiosk.dashboard().current_calls[0].id == issued.id


def test_corrupt_database_gives_store_error(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open queue database"):
        open_store(db)


def _fill(db: Path, tickets: int, counters: list[str]) -> set[str]:
    with open_store(db, extra=len(counters)) as store:
        for counter in counters:
            store.open_counter(counter, STAFF)
        issued = set()
        for i in range(tickets):
            ticket = store.issue(["cash", "account", "wealth"][i % 3], KIOSK).ticket
            assert ticket is not None
            issued.add(ticket.id)
    return issued


def _drain(store: QueueStore, counter: str, out: list[str]) -> None:
    while True:
        ticket = store.call_next(counter, Actor("s-" + counter, counter)).ticket
        if ticket is None:
            return
        out.append(ticket.id)
        # A real counter serves the customer before calling again; without this pause one
        # caller can win every race for the write lock and the test would prove nothing.
        time.sleep(0.002)


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "store-per-thread"])
def test_concurrent_threads_never_get_the_same_ticket(tmp_path: Path, shared: bool) -> None:
    db = tmp_path / "queue.db"
    counters = [f"X{i}" for i in range(8)]
    issued = _fill(db, 240, counters)
    common = open_store(db, extra=8) if shared else None
    stores = [common or open_store(db, extra=8) for _ in counters]
    results: list[list[str]] = [[] for _ in counters]
    barrier = threading.Barrier(len(counters))

    def worker(i: int) -> None:
        barrier.wait()
        _drain(stores[i], counters[i], results[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(counters))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    called = [tid for r in results for tid in r]
    assert len(called) == len(set(called)) == len(issued)
    assert set(called) == issued
    assert sum(1 for r in results if r) > 1  # the work really was shared
    for store in {id(s): s for s in stores}.values():
        store.close()


def test_concurrent_processes_never_get_the_same_ticket(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    counters = [f"X{i}" for i in range(4)]
    issued = _fill(db, 400, counters)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.test_queue_store", "caller", str(db), str(go), c],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for c in counters
    ]
    for proc in procs:  # each caller has its store open and polls for the start signal
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    go.touch()  # all callers start at the same instant
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs)
    called = [line for out in outputs for line in out.split()]
    assert len(called) == len(set(called)) == len(issued)
    assert set(called) == issued
    assert sum(1 for out in outputs if out.strip()) > 1


def _caller(db: str, go: str, counter: str) -> None:
    """Child process: wait for the start signal, then call next until the queue is empty."""
    store = open_store(Path(db), extra=4)
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.001)
    called: list[str] = []
    _drain(store, counter, called)
    store.close()
    print("\n".join(called), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "caller":
        _caller(*sys.argv[2:5])


def test_tiers_stored_by_older_versions_are_forgotten_on_open(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with open_store(db) as store:
        issued = store.issue("cash", KIOSK, tier="wealth").ticket
        assert issued.priority
    raw = sqlite3.connect(db)
    # What an older version wrote: the tier in its column and in both JSON bodies.
    body = raw.execute("SELECT body FROM tickets").fetchone()[0]
    legacy = body.replace(b'"priority":true', b'"priority":true,"tier":"wealth"')
    raw.execute("UPDATE tickets SET tier = 'wealth', body = ?", (legacy,))
    for seq, event in raw.execute("SELECT seq, body FROM events").fetchall():
        old = event.replace(b'"priority":true', b'"priority":true,"tier":"wealth"')
        raw.execute("UPDATE events SET body = ? WHERE seq = ?", (old, seq))
    raw.execute("DELETE FROM meta WHERE key = 'tiers_forgotten'")
    raw.commit()
    assert raw.execute("SELECT count(*) FROM events WHERE instr(body, 'wealth')").fetchone()[0]
    raw.close()
    with open_store(db) as store:
        assert store.tickets() == [issued]
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT tier FROM tickets").fetchall() == [(None,)]
    for table in ("tickets", "events"):
        hits = raw.execute(f"SELECT count(*) FROM {table} WHERE instr(body, 'tier')")  # noqa: S608
        assert hits.fetchone()[0] == 0, table
    raw.close()
