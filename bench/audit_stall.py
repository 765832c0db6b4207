"""Audit records from the event loop while another process holds audit.db's write lock.

A staff action's `audit.record` is timed on the event-loop thread: without the lock, and while a
second process holds `BEGIN EXCLUSIVE` on audit.db (as branch-provision does while it appends).
Also timed once: a synchronous append (record, then wait until written) during the lock, which
is what every staff action paid before the writer thread.

`python -m bench.audit_stall [--records N] [--hold S]`; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from branch_hub.context import RequestContext
from branch_hub.ids import new_visit_id
from branch_hub.security.audit import AuditLog

__all__ = ["LockHolder", "StaffActions", "main", "staff_actions"]

_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", time.monotonic_ns(), flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
print("released", time.monotonic_ns(), flush=True)
"""


class LockHolder:
    """Another process that holds a SQLite database's write lock for some seconds."""

    def __init__(self, db_path: Path, seconds: float) -> None:
        self.db_path = db_path
        self.seconds = seconds
        self.locked_ns = 0
        self.released_ns = 0
        self._proc: subprocess.Popen[str] | None = None
        self._out: IO[str] | None = None

    def __enter__(self) -> LockHolder:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(self.db_path), str(self.seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self._out = self._proc.stdout
        word, _, stamp = self._line()
        if word != "locked":
            self._proc.kill()
            raise RuntimeError("the lock holder did not take the lock")
        self.locked_ns = int(stamp)
        return self

    def wait(self) -> int:
        """Wait for the release; return its time (time.monotonic_ns, shared by processes)."""
        if not self.released_ns and self._proc is not None:
            word, _, stamp = self._line()
            self._proc.wait(timeout=self.seconds + 30)
            if word != "released":
                raise RuntimeError("the lock holder did not release the lock")
            self.released_ns = int(stamp)
        return self.released_ns

    def _line(self) -> tuple[str, str, str]:
        line = self._out.readline() if self._out is not None else ""
        return line.strip().partition(" ")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is None:
            return
        if kind is None:
            self.wait()
        elif self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        if self._out is not None:
            self._out.close()


@dataclass
class StaffActions:
    """How long each `record` took on the loop thread and when the last one returned."""

    took_ms: list[float]
    last_return_ns: int

    def pct(self, q: float) -> float:
        """The q-quantile of `took_ms` (nearest rank)."""
        ordered = sorted(self.took_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def staff_actions(log: AuditLog, count: int, interval_s: float) -> StaffActions:
    """Record `count` claims from the event-loop thread, `interval_s` apart; time each call."""
    ctx = RequestContext("TAB1", "tablet", "w1", "wealth_manager")
    took: list[float] = []
    last = 0
    for n in range(count):
        start = time.perf_counter_ns()
        log.record(
            "claim",
            ctx=ctx,
            customer_id=f"C{n:010d}",
            subject=f"visit:{new_visit_id()}",
            detail={"step": "claim"},
        )
        last = time.monotonic_ns()
        took.append((time.perf_counter_ns() - start) / 1e6)
        await asyncio.sleep(interval_s)
    return StaffActions(took, last)


def _run(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    log = AuditLog.open(folder)
    try:
        log.record("login", staff_id="w1")
        log.flush()
        free = asyncio.run(staff_actions(log, args.records, args.interval_ms / 1000))
        log.flush()
        with LockHolder(log.db_path, args.hold) as holder:
            locked = asyncio.run(staff_actions(log, args.records, args.interval_ms / 1000))
            released = holder.wait()
        log.flush()
        with LockHolder(log.db_path, args.hold) as holder:
            start = time.perf_counter()
            log.record("claim", staff_id="w1", subject=f"visit:{new_visit_id()}")
            log.flush(args.hold + 30)
            sync_ms = (time.perf_counter() - start) * 1000
        entries = log.verify()
    finally:
        log.close()
    return {
        "bench": "audit_stall",
        "records": args.records,
        "lock_hold_s": args.hold,
        "record_p50_ms": round(free.pct(0.5), 3),
        "record_p99_ms": round(free.pct(0.99), 3),
        "record_locked_p50_ms": round(locked.pct(0.5), 3),
        "record_locked_p99_ms": round(locked.pct(0.99), 3),
        "record_locked_max_ms": round(max(locked.took_ms), 3),
        "locked_p99_ratio": round(locked.pct(0.99) / max(free.pct(0.99), 1e-6), 2),
        "all_locked_records_returned_before_release": locked.last_return_ns < released,
        "sync_append_during_lock_ms": round(sync_ms, 1),
        "entries_verified": entries,
    }


def main() -> None:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog="python -m bench.audit_stall", description=__doc__)
    p.add_argument("--records", type=int, default=200, help="records per phase")
    p.add_argument("--hold", type=float, default=2.0, help="seconds the other process holds")
    p.add_argument("--interval-ms", type=float, default=5.0, help="between staff actions")
    args = p.parse_args()
    if not 1 <= args.records <= 100_000 or not 0 < args.hold <= 60:
        p.error("--records is 1..100000 and --hold is in (0, 60]")
    with tempfile.TemporaryDirectory() as tmp:
        result = _run(args, Path(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
