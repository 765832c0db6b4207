"""Benchmark the queue engine: operation latency with N tickets waiting, and a simulated day.

Latency: `issue` and `call_next` p50/p99 in microseconds (median of three rounds of `--ops`
operations each), for the in-memory engine and for the SQLite store (WAL, synchronous=FULL and
NORMAL), against a plain FIFO deque and a bare one-row SQLite commit as baselines.

Simulated day: Poisson arrivals following a daily profile that peaks at 300/hour, lognormal
service times, 8 counters, about 12% priority customers. For each policy it reports the wait
estimate's error and the fairness figure: for each ordinary customer, actual wait minus their
wait in the counterfactual run of the same day (same arrivals and service times) in which
priority customers are treated as ordinary; the maximum over ordinary customers.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from branch_hub.config import BranchConfig, PriorityPolicy, QueuePolicy, parse_config
from branch_hub.queue import Actor, ManualClock, Outcome, QueueEngine, QueueStore, Synchronous

# service code, prefix, median minutes, share of arrivals
SERVICES = [("cash", "A", 1.5, 0.60), ("account", "B", 3.0, 0.25), ("wealth", "C", 6.0, 0.08)]
SERVICES += [("loan", "D", 4.5, 0.07)]
COUNTERS = [["cash", "account"]] * 5 + [["cash", "loan"], ["account", "loan", "wealth"]]
COUNTERS += [["wealth", "loan", "account"]]
SIGMA = 0.5  # lognormal shape of service times
# arrivals per hour from 09:00 to 17:00 (peak 300/hour late morning)
PROFILE = [50, 120, 300, 180, 90, 110, 160, 70]
# tier shares: mass and basic are ordinary; wealth and private are priority; plus appointments
TIERS = [("mass", 0.60), ("basic", 0.285), ("wealth", 0.09), ("private", 0.015)]
APPOINTMENT_SHARE = 0.01
OPEN = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
KIOSK = Actor(None, "K1")
STAFF = Actor("s-bench", "tablet-bench")

POLICIES = {
    "strict": QueuePolicy(policy=PriorityPolicy.STRICT, aging_cap_min=0),
    "weighted": QueuePolicy(policy=PriorityPolicy.WEIGHTED, aging_cap_min=0),
    "weighted_cap": QueuePolicy(policy=PriorityPolicy.WEIGHTED, aging_cap_min=15),
    "strict_cap": QueuePolicy(policy=PriorityPolicy.STRICT, aging_cap_min=15),
}
DEFAULT_POLICY = "weighted_cap"


def bench_config(policy: QueuePolicy | None = None) -> BranchConfig:
    """The simulated branch: four services, eight counters."""
    return parse_config(
        {
            "branch": {
                "id": "BENCH",
                "name_zh": "基准支行",
                "name_en": "Bench branch",
                "region_code": "110105",
            },
            "services": [
                {"code": c, "name_zh": c, "name_en": c, "prefix": p, "typical_service_min": m}
                for c, p, m, _ in SERVICES
            ],
            "counters": [
                {"id": f"C{i + 1}", "name_zh": f"{i + 1}号窗口", "number": i + 1, "services": s}
                for i, s in enumerate(COUNTERS)
            ],
            "queue": (policy or POLICIES[DEFAULT_POLICY]).model_dump(mode="json"),
        }
    )


# --------------------------------------------------------------------- latency


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


def _customer(rng: random.Random) -> tuple[str, str, bool]:
    service = rng.choices([s[0] for s in SERVICES], [s[3] for s in SERVICES])[0]
    tier = rng.choices([t[0] for t in TIERS], [t[1] for t in TIERS])[0]
    return service, tier, rng.random() < APPOINTMENT_SHARE


def _latency(ops: _Ops, clock: ManualClock, ops_count: int, seed: int) -> dict[str, Any]:
    """Time `ops_count` issues then as many calls, three rounds; report the median round."""
    rounds = [_latency_round(ops, clock, ops_count, seed + r) for r in range(3)]
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def _latency_round(ops: _Ops, clock: ManualClock, ops_count: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    issue_ns: list[int] = []
    for _ in range(ops_count):
        service, tier, appointment = _customer(rng)
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
        service, tier, appointment = _customer(rng)
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


# --------------------------------------------------------------------- simulated day


@dataclass(frozen=True)
class Customer:
    """One arrival of the simulated day."""

    arrival_min: float
    service: str
    tier: str
    appointment: bool
    duration_min: float


def simulate_arrivals(seed: int) -> list[Customer]:
    """Draw one day of arrivals (non-homogeneous Poisson by thinning) with service times."""
    rng = random.Random(seed)
    peak = max(PROFILE) / 60.0
    medians = {s[0]: s[2] for s in SERVICES}
    customers: list[Customer] = []
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= 60 * len(PROFILE):
            return customers
        if rng.random() > PROFILE[int(t // 60)] / 60.0 / peak:
            continue
        service, tier, appointment = _customer(rng)
        duration = rng.lognormvariate(math.log(medians[service]), SIGMA)
        customers.append(Customer(t, service, tier, appointment, duration))


def run_day(
    customers: list[Customer], policy: QueuePolicy, *, all_ordinary: bool = False
) -> dict[int, dict[str, float | bool]]:
    """Run one day through the engine; return per customer: wait, estimate, priority."""
    clock = ManualClock(OPEN)
    engine = QueueEngine(bench_config(policy), clock)
    counters = [f"C{i + 1}" for i in range(len(COUNTERS))]
    for counter in counters:
        engine.open_counter(counter, STAFF)
    by_ticket: dict[str, int] = {}
    result: dict[int, dict[str, float | bool]] = {}
    busy: dict[str, bool] = dict.fromkeys(counters, False)
    # events: (minute, order, kind, payload); kind 0 = counter free, 1 = arrival
    heap: list[tuple[float, int, int, str | int]] = []
    for i, c in enumerate(customers):
        heapq.heappush(heap, (c.arrival_min, i, 1, i))
    order = len(customers)

    def call(counter: str, now: float) -> None:
        nonlocal order
        outcome = engine.call_next(counter, STAFF)
        ticket = outcome.ticket
        if ticket is None:
            busy[counter] = False
            return
        busy[counter] = True
        index = by_ticket[ticket.id]
        result[index]["wait_min"] = now - customers[index].arrival_min
        order += 1
        heapq.heappush(heap, (now + customers[index].duration_min, order, 0, counter))

    while heap:
        now, _, kind, payload = heapq.heappop(heap)
        clock.set(OPEN + timedelta(minutes=now))
        if kind == 1:
            index = int(payload)
            c = customers[index]
            ticket = engine.issue(
                c.service,
                KIOSK,
                tier="mass" if all_ordinary else c.tier,
                appointment=c.appointment and not all_ordinary,
            ).ticket
            assert ticket is not None  # noqa: S101 - issue always returns its ticket
            by_ticket[ticket.id] = index
            estimate = engine.estimate(ticket.id)
            result[index] = {
                "priority": ticket.priority,
                "estimate_mid_min": estimate.mid_min,
                "estimate_low_min": estimate.low_min,
            }
            for counter, serves in zip(counters, COUNTERS, strict=True):
                if not busy[counter] and c.service in serves:
                    call(counter, now)
                    break
        else:
            call(str(payload), now)
    return result


def day_figures(
    customers: list[Customer], policy: QueuePolicy, baseline: dict[int, dict[str, float | bool]]
) -> dict[str, Any]:
    """Estimate error and extra ordinary wait of one policy against the counterfactual day."""
    run = run_day(customers, policy)
    errors_mid, errors_low, extra, waits_p, waits_o = [], [], [], [], []
    for index, row in run.items():
        wait = float(row["wait_min"])
        errors_mid.append(abs(float(row["estimate_mid_min"]) - wait))
        errors_low.append(abs(float(row["estimate_low_min"]) - wait))
        if row["priority"]:
            waits_p.append(wait)
        else:
            waits_o.append(wait)
            extra.append(wait - float(baseline[index]["wait_min"]))
    extra.sort()
    return {
        "wait_estimate_mae_min": round(statistics.fmean(errors_mid), 2),
        "wait_estimate_mae_low_min": round(statistics.fmean(errors_low), 2),
        "max_extra_wait_ordinary_min": round(extra[-1], 2),
        "p95_extra_wait_ordinary_min": round(extra[int(0.95 * (len(extra) - 1))], 2),
        "mean_wait_priority_min": round(statistics.fmean(waits_p), 2),
        "mean_wait_ordinary_min": round(statistics.fmean(waits_o), 2),
        "max_wait_ordinary_min": round(max(waits_o), 2),
    }


def simulate(days: int) -> dict[str, Any]:
    """Run every policy over `days` simulated days; figures are the worst (max) or mean."""
    per_policy: dict[str, list[dict[str, Any]]] = {name: [] for name in POLICIES}
    arrivals = []
    priority_share = []
    for day in range(days):
        customers = simulate_arrivals(seed=100 + day)
        arrivals.append(len(customers))
        baseline = run_day(customers, POLICIES[DEFAULT_POLICY], all_ordinary=True)
        for name, policy in POLICIES.items():
            figures = day_figures(customers, policy, baseline)
            per_policy[name].append(figures)
        priority_share.append(
            sum(1 for c in customers if c.tier in {"wealth", "private"} or c.appointment)
            / len(customers)
        )
    merged = {}
    for name, rows in per_policy.items():
        merged[name] = {
            key: (
                max(r[key] for r in rows)
                if key.startswith(("max_", "p95_"))
                else round(statistics.fmean(r[key] for r in rows), 2)
            )
            for key in rows[0]
        }
    return {
        "days": days,
        "arrivals_per_day": round(statistics.fmean(arrivals)),
        "priority_share": round(statistics.fmean(priority_share), 3),
        "policies": merged,
    }


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
        "waiting": args.waiting,
        "ops": args.ops,
        "store_synchronous": "FULL",
        "call_next_p99_us": store_full["call_next_p99_us"],
        "issue_p99_us": store_full["issue_p99_us"],
        "default_policy": DEFAULT_POLICY,
        "wait_estimate_mae_min": default["wait_estimate_mae_min"],
        "wait_estimate_point": "midpoint of the median-to-p80 range",
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
