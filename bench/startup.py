"""Hub start-up against push-history length: open the event log, rebuild the board, be ready.

For each size N it writes N sealed events spread over N / --per-day business days (one
transaction, `executemany` of rows sealed as the hub seals them), as a hub of the previous
version left them (no time index). It then times, as the service does at start:
`EventLog(path)`, `CallBoard().rebuild(log, today_start(zone))` and `log.last_seq()`. The
first open also builds the time index (once, on upgrade) and is reported on its own; start-up
is the median of --repeats later opens. The baseline is the same calls on an empty log in the
same run. With --replay-all it also times the former start-up (decrypt and replay every event),
and with --prune the pruning of all but --keep-days days and the start-up after it.

`python -m bench.startup --events 10000 --events 1000000 --replay-all --prune`; one JSON
object per size as it finishes, and on the last line a JSON list of them all.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from branch_hub.atrest import AtRestCipher
from branch_hub.board import CallBoard
from branch_hub.push import EventLog
from branch_hub.retention import business_date, business_day_start, today_start

ZONE = "Asia/Shanghai"
KEY = b"s" * 32
# A day's events by kind, in the proportions of a busy branch day (bench.branch_day).
DAY_KINDS = ["arrival", "called", "ticket_updated", "finished", "claimed", "note_added"]
DAY_KINDS += ["called", "recalled", "finished", "ticket_updated", "waiting_changed", "arrival"]
OLD_TABLE = """CREATE TABLE push_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, at TEXT NOT NULL,
    sealed BLOB NOT NULL)"""


def _rows(events: int, per_day: int, now: datetime) -> Iterator[tuple[int, str, str, bytes]]:
    """Yield sealed rows, oldest first, `per_day` per business day between 09:00 and 17:00."""
    cipher = AtRestCipher(KEY)
    today = business_date(ZONE, now)
    days = -(-events // per_day)
    step = timedelta(hours=8) / per_day
    for seq in range(1, events + 1):
        day, nth = divmod(seq - 1, per_day)
        start = business_day_start(ZONE, today - timedelta(days=days - 1 - day))
        at = (start + timedelta(hours=9) + nth * step).isoformat(timespec="milliseconds")
        kind = DAY_KINDS[seq % len(DAY_KINDS)]
        data = {"ticket": f"A{nth % 1000:03d}", "service": "cash", "counter_id": "C3",
                "counter_number": 3, "counter_name_zh": "3号窗口", "voice_id": f"v{nth}",
                "visit_id": f"v-{seq:08d}", "state": "waiting"}  # fmt: skip
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        yield seq, kind, at, cipher.seal(body, f"push/{seq}/{kind}".encode())


def build(path: Path, events: int, per_day: int, now: datetime) -> float:
    """Write the log as the previous version left it; return the seconds it took."""
    t0 = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(OLD_TABLE)
    db.execute("BEGIN")
    db.executemany("INSERT INTO push_events VALUES (?, ?, ?, ?)", _rows(events, per_day, now))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - t0


def start_once(path: Path, now: datetime) -> dict[str, float]:
    """Do what the service does at start; return the seconds each step took."""
    t0 = time.perf_counter()
    log = EventLog(path, AtRestCipher(KEY))
    t1 = time.perf_counter()
    board = CallBoard()
    board.rebuild(log, today_start(ZONE, now))
    t2 = time.perf_counter()
    log.last_seq()
    t3 = time.perf_counter()
    log.close()
    return {"open_s": t1 - t0, "rebuild_s": t2 - t1, "last_seq_s": t3 - t2, "total_s": t3 - t0}


def median_start(path: Path, now: datetime, repeats: int) -> dict[str, float]:
    """Median of each step over `repeats` start-ups."""
    runs = [start_once(path, now) for _ in range(repeats)]
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def replay_all(path: Path) -> float:
    """Time the former start-up: decrypt and apply every event ever logged."""
    t0 = time.perf_counter()
    log = EventLog(path, AtRestCipher(KEY))
    board = CallBoard()
    for event in log.iter_since(0):
        board.apply(event)
    log.close()
    return time.perf_counter() - t0


def run_size(events: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Measure one history length against the empty-log baseline of the same run."""
    now = datetime.now(UTC)
    path = tmp / f"hub-{events}.db"
    built = build(path, events, args.per_day, now)
    first = start_once(path, now)  # builds the time index once
    steps = median_start(path, now, args.repeats)
    empty = tmp / f"empty-{events}.db"
    start_once(empty, now)
    baseline = median_start(empty, now, args.repeats)["total_s"]
    out: dict[str, Any] = {
        "events": events,
        "days": -(-events // args.per_day),
        "startup_s": round(steps["total_s"], 5),
        "baseline_s": round(baseline, 5),
        "ratio": round(steps["total_s"] / baseline, 2),
        "open_s": round(steps["open_s"], 5),
        "rebuild_s": round(steps["rebuild_s"], 5),
        "last_seq_s": round(steps["last_seq_s"], 5),
        "first_open_with_index_build_s": round(first["total_s"], 3),
        "build_s": round(built, 2),
        "db_bytes": path.stat().st_size,
    }
    if args.replay_all:
        out["replay_all_s"] = round(replay_all(path), 3)
    if args.prune:
        log = EventLog(path, AtRestCipher(KEY))
        cut = business_day_start(ZONE, business_date(ZONE, now) - timedelta(args.keep_days))
        t0 = time.perf_counter()
        out["pruned_events"] = log.prune(cut)
        out["prune_s"] = round(time.perf_counter() - t0, 3)
        log.close()
        out["startup_after_prune_s"] = round(median_start(path, now, args.repeats)["total_s"], 5)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    p.add_argument("--events", type=int, action="append", help="history length (repeatable)")
    p.add_argument("--per-day", type=int, default=3000, help="events per business day")
    p.add_argument("--repeats", type=int, default=5, help="start-ups per median")
    p.add_argument("--replay-all", action="store_true", help="also time the full replay")
    p.add_argument("--prune", action="store_true", help="also time pruning to --keep-days")
    p.add_argument("--keep-days", type=int, default=7)
    args = p.parse_args(argv)
    sizes = args.events or [10_000]
    if min(sizes) < 1 or args.per_day < 1 or args.repeats < 1:
        p.error("--events, --per-day and --repeats must be positive")
    results = []
    with tempfile.TemporaryDirectory() as tmp_s:
        for events in sizes:
            results.append(run_size(events, args, Path(tmp_s)))
            print(json.dumps(results[-1]), flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
