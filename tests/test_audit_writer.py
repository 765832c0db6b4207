"""The audit writer thread: callers never wait for the database; replays are not written twice."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.audit_stall import LockHolder, staff_actions
from branch_hub.security import AuditError, AuditLog
from branch_hub.security.audit import (
    AuditBacklogFull,
    AuditEntry,
    AuditNotWritten,
    PendingAudit,
)
from branch_hub.security.audit_writer import EntryWriter

ROOT = Path(__file__).resolve().parent.parent


def test_records_during_another_process_lock_never_wait(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    log.record("login", staff_id="w1")
    log.flush()
    with LockHolder(log.db_path, 2.0) as holder:
        done = asyncio.run(staff_actions(log, 200, 0.001))
        with pytest.raises(AuditNotWritten, match="not written yet"):
            log.flush(0.05)  # the writer thread is the one waiting for the lock
        released = holder.wait()
    # Every record returned while the other process still held the lock.
    assert done.last_return_ns < released
    print(f"record on the loop during the lock: p99 {done.pct(0.99):.3f} ms")
    log.flush()
    assert log.verify() == 201
    assert [e.action for e in log.entries()][1:] == ["claim"] * 200
    log.close()


def test_entries_are_chained_in_the_order_handed_in(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    for n in range(300):
        log.record("note", staff_id="w1", detail={"n": n})
    assert [e.detail["n"] for e in log.entries()] == list(range(300))
    assert [e.seq for e in log.entries()] == list(range(1, 301))
    log.close()


def test_a_replayed_entry_is_written_once(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    pending = log.prepare("claim", staff_id="w1", subject="visit:0123456789abcdef")
    kept = json.dumps(pending.to_json())  # as the hub keeps it in its own database
    assert log.record_entry(pending) == pending.entry_id
    log.record_entry(pending)  # handed in twice in one run
    log.flush()
    assert log.chained([pending.entry_id, "0" * 32]) == {pending.entry_id}
    log.close()
    again = AuditLog.open(tmp_path)  # after a crash: handed in again from the hub's database
    again.record_entry(PendingAudit.from_json(json.loads(kept)))
    again.record("logout", staff_id="w1")
    entries = list(again.entries())
    assert (entries[0].action, entries[0].entry_id) == ("claim", pending.entry_id)
    assert [e.action for e in entries] == ["claim", "logout"]
    assert again.verify() == 2
    again.close()


def test_a_kept_entry_is_checked_again_when_rebuilt() -> None:
    good = AuditLog.prepare("claim", staff_id="w1").to_json()
    assert PendingAudit.from_json(good).entry_id == good["entry_id"]
    for broken in (
        good | {"entry_id": "x"},
        good | {"at": "yesterday"},
        good | {"action": "coffee"},
        good | {"customer_id": "621799648233483704"},
        good | {"detail": ["not", "a", "mapping"]},
        good | {"detail": {"text": "card 6217 9964 8233 4837 04".replace(" ", "")}},
    ):
        with pytest.raises(ValueError):
            PendingAudit.from_json(broken)


def test_a_log_from_before_entry_ids_still_verifies_and_grows(tmp_path: Path) -> None:
    key = bytes(range(32))
    (tmp_path / "audit.key").write_bytes(key)
    old = sqlite3.connect(tmp_path / "audit.db", isolation_level=None)
    old.execute(
        "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL, "
        "device_id TEXT, staff_id TEXT, customer_id TEXT, subject TEXT, detail TEXT NOT NULL, "
        "mac TEXT NOT NULL)"
    )
    entry = AuditEntry(1, "2026-01-05T09:00:00.000+00:00", "login", None, "w1", None, None, {}, "")
    mac = hmac.new(key, b"0" * 64 + entry.canonical(), hashlib.sha256).hexdigest()
    old.execute(
        "INSERT INTO audit VALUES (1, ?, 'login', NULL, 'w1', NULL, NULL, '{}', ?)", (entry.at, mac)
    )
    old.close()
    (tmp_path / "audit.head").write_text(f"1 {mac}\n")
    log = AuditLog.open(tmp_path)
    assert log.verify() == 1
    log.record("logout", staff_id="w1")
    assert log.verify() == 2
    assert [e.entry_id is None for e in log.entries()] == [True, False]
    log.close()


def test_a_full_backlog_refuses_entries_instead_of_waiting(tmp_path: Path) -> None:
    gate = threading.Event()
    written: list[int] = []

    def slow(batch: Sequence[int]) -> None:
        gate.wait(10)
        written.extend(batch)

    writer: EntryWriter[int] = EntryWriter(slow, capacity=2)
    accepted: list[int] = []
    refused: list[int] = []
    for n in range(10):
        try:
            writer.submit(n)
        except AuditBacklogFull:
            refused.append(n)
        else:
            accepted.append(n)
    assert refused
    gate.set()
    writer.close(10)
    assert written == accepted
    assert 2 <= len(accepted) <= 4  # two queued, plus at most the two the thread took
    with pytest.raises(AuditError, match="closed"):
        writer.submit(99)


def test_failed_writes_are_retried_until_they_succeed() -> None:
    calls: list[int] = []

    def flaky(batch: Sequence[str]) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("disk I/O error")

    writer: EntryWriter[str] = EntryWriter(flaky)
    writer.submit("a")
    writer.flush(10)
    assert len(calls) == 3
    writer.close()


def test_the_stall_bench_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.audit_stall", "--records", "20", "--hold", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["all_locked_records_returned_before_release"] is True
    assert result["entries_verified"] == 1 + 20 + 20 + 1
    assert result["sync_append_during_lock_ms"] > result["record_locked_max_ms"]
