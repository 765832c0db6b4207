"""Benchmark the queue engine: operation latency with N tickets waiting, and a simulated day.

Latency: `issue` and `call_next` p50/p99 in microseconds (median of three rounds of `--ops`
operations each), for the in-memory engine and for the SQLite store (WAL, synchronous=FULL and
NORMAL), against a plain FIFO deque and a bare one-row SQLite commit as baselines.

Simulated day: Poisson arrivals following a daily profile that peaks at 300/hour, lognormal
service times, 8 counters, about 12% priority customers. For each policy it reports the wait
estimate's error and the fairness figure: for each ordinary customer, actual wait minus their
wait in the counterfactual run of the same day (same arrivals and service times) in which
priority customers are treated as ordinary; the maximum over ordinary customers. The wait
range's coverage, width and point error against the classic estimate come from
`bench/queue_estimate.py` and lead the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.queue_branch import (
    COUNTERS,
    DEFAULT_POLICY,
    KIOSK,
    OPEN,
    STAFF,
    bench_config,
    draw_customer,
)
from bench.queue_day import simulate
from bench.queue_estimate import figures as estimate_figures
from branch_hub.queue import ManualClock, Outcome, QueueEngine, QueueStore, Synchronous


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return {"p50_us": round(ordered[len(ordered) // 2] / 1000, 1), "p99_us": round(p99 / 1000, 1)}


class _Ops:
    """issue/call_next of either the engine or the store."""

    def __init__(self, target: QueueEngine | QueueStore) -> None:
        self.issue: Callable[..., Outcome] = target.issue
        self.call_next: Callable[..., Outcome] = target.call_next
        self.open_counter: Callable[..., Outcome] = target.open_counter


def _latency(ops: _Ops, clock: ManualClock, ops_count: int, seed: int) -> dict[str, Any]:
    """Time `ops_count` issues then as many calls, three rounds; report the median round."""
    rounds = [_latency_round(ops, clock, ops_count, seed + r) for r in range(3)]
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def _latency_round(ops: _Ops, clock: ManualClock, ops_count: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    issue_ns: list[int] = []
    for _ in range(ops_count):
        service, tier, appointment = draw_customer(rng)
        clock.advance(seconds=0.5)
        started = time.perf_counter_ns()
        ops.issue(service, KIOSK, tier=tier, appointment=appointment)
        issue_ns.append(time.perf_counter_ns() - started)
    call_ns: list[int] = []
    for i in range(ops_count):
        clock.advance(seconds=0.5)
        started = time.perf_counter_ns()
        ops.call_next(f"C{i % len(COUNTERS) + 1}", STAFF)
        call_ns.append(time.perf_counter_ns() - started)
    issue = _percentiles(issue_ns)
    call = _percentiles(call_ns)
    return {
        "issue_p50_us": issue["p50_us"],
        "issue_p99_us": issue["p99_us"],
        "call_next_p50_us": call["p50_us"],
        "call_next_p99_us": call["p99_us"],
    }


def _prefill(ops: _Ops, clock: ManualClock, waiting: int) -> None:
    rng = random.Random(1)
    for i in range(len(COUNTERS)):
        ops.open_counter(f"C{i + 1}", STAFF)
    for _ in range(waiting):
        service, tier, appointment = draw_customer(rng)
        clock.advance(seconds=0.01)
        ops.issue(service, KIOSK, tier=tier, appointment=appointment)


def latency_memory(waiting: int, ops_count: int) -> dict[str, Any]:
    """Measure the pure engine with `waiting` tickets in the queues."""
    clock = ManualClock(OPEN)
    engine = QueueEngine(bench_config(), clock)
    ops = _Ops(engine)
    _prefill(ops, clock, waiting)
    return _latency(ops, clock, ops_count, seed=2)


def latency_store(waiting: int, ops_count: int, synchronous: Synchronous) -> dict[str, Any]:
    """Measure the SQLite store (WAL) with `waiting` tickets in the queues."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "queue.db"
        clock = ManualClock(OPEN)
        with QueueStore(db, bench_config(), clock, synchronous="NORMAL") as store:
            _prefill(_Ops(store), clock, waiting)
        started = time.perf_counter()
        with QueueStore(db, bench_config(), clock, synchronous=synchronous) as store:
            reopen_s = time.perf_counter() - started
            result = _latency(_Ops(store), clock, ops_count, seed=2)
        result["reopen_s"] = round(reopen_s, 3)
        result["synchronous"] = synchronous
        return result


def latency_baseline(waiting: int, ops_count: int) -> dict[str, Any]:
    """A plain FIFO deque: append for issue, popleft for call."""
    queue: deque[tuple[int, str]] = deque((i, "A") for i in range(waiting))
    issue_ns, call_ns = [], []
    for i in range(ops_count):
        started = time.perf_counter_ns()
        queue.append((waiting + i, "A"))
        issue_ns.append(time.perf_counter_ns() - started)
    for _ in range(ops_count):
        started = time.perf_counter_ns()
        queue.popleft()
        call_ns.append(time.perf_counter_ns() - started)
    issue, call = _percentiles(issue_ns), _percentiles(call_ns)
    return {
        "issue_p50_us": issue["p50_us"],
        "issue_p99_us": issue["p99_us"],
        "call_next_p50_us": call["p50_us"],
        "call_next_p99_us": call["p99_us"],
    }


def latency_sqlite_baseline(ops_count: int, synchronous: Synchronous) -> dict[str, Any]:
    """One-row INSERT + COMMIT in WAL mode: the floor any durable store pays per operation."""
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB)")
        samples = []
        for _ in range(ops_count):
            started = time.perf_counter_ns()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (body) VALUES (?)", (b"x" * 400,))
            conn.execute("COMMIT")
            samples.append(time.perf_counter_ns() - started)
        conn.close()
    result = _percentiles(samples)
    return {"commit_p50_us": result["p50_us"], "commit_p99_us": result["p99_us"]}


def main() -> None:
    """Run the benchmark and print JSON as the last line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--waiting", type=int, default=10_000, help="tickets waiting (latency)")
    parser.add_argument("--ops", type=int, default=2_000, help="timed operations of each kind")
    parser.add_argument("--days", type=int, default=3, help="simulated days per policy")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    memory = latency_memory(args.waiting, args.ops)
    store_full = latency_store(args.waiting, args.ops, "FULL")
    store_normal = latency_store(args.waiting, args.ops, "NORMAL")
    deque_base = latency_baseline(args.waiting, args.ops)
    floor_full = latency_sqlite_baseline(args.ops, "FULL")
    floor_normal = latency_sqlite_baseline(args.ops, "NORMAL")
    day = simulate(args.days)
    default = day["policies"][DEFAULT_POLICY]
    result = {
        **estimate_figures(args.days),
        "waiting": args.waiting,
        "ops": args.ops,
        "store_synchronous": "FULL",
        "call_next_p99_us": store_full["call_next_p99_us"],
        "issue_p99_us": store_full["issue_p99_us"],
        "default_policy": DEFAULT_POLICY,
        "wait_estimate_mae_min": default["wait_estimate_mae_min"],
        "wait_estimate_point": "median wait of tickets with a similar formula point",
        "max_extra_wait_ordinary_min": default["max_extra_wait_ordinary_min"],
        "store_full": store_full,
        "store_normal": store_normal,
        "memory": memory,
        "baseline_deque": deque_base,
        "baseline_sqlite_commit_full": floor_full,
        "baseline_sqlite_commit_normal": floor_normal,
        "ratio_memory_call_vs_deque_p50": round(
            memory["call_next_p50_us"] / max(deque_base["call_next_p50_us"], 0.1), 1
        ),
        "ratio_store_full_call_vs_sqlite_commit_p50": round(
            store_full["call_next_p50_us"] / floor_full["commit_p50_us"], 2
        ),
        "ratio_store_full_issue_vs_sqlite_commit_p50": round(
            store_full["issue_p50_us"] / floor_full["commit_p50_us"], 2
        ),
        **{k: v for k, v in day.items() if k != "policies"},
        "policies": day["policies"],
    }
    if not args.json:
        print(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
