"""The queue bench's simulated day: every policy against the day in which nobody has priority.

Poisson arrivals following a daily profile, lognormal service times; for each policy the wait
estimate's error and how much longer ordinary customers wait than in the counterfactual day.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bench.queue_branch import (
    COUNTERS,
    DEFAULT_POLICY,
    KIOSK,
    OPEN,
    POLICIES,
    PROFILE,
    SERVICES,
    SIGMA,
    STAFF,
    bench_config,
    draw_customer,
)
from branch_hub.config import QueuePolicy
from branch_hub.queue import ManualClock, QueueEngine


@dataclass(frozen=True)
class Customer:
    """One arrival of the simulated day."""

    arrival_min: float
    service: str
    tier: str
    appointment: bool
    duration_min: float


def simulate_arrivals(seed: int, profile: Sequence[int] = PROFILE) -> list[Customer]:
    """Draw one day of arrivals (non-homogeneous Poisson by thinning) with service times."""
    rng = random.Random(seed)
    peak = max(profile) / 60.0
    medians = {s[0]: s[2] for s in SERVICES}
    customers: list[Customer] = []
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= 60 * len(profile):
            return customers
        if rng.random() > profile[int(t // 60)] / 60.0 / peak:
            continue
        service, tier, appointment = draw_customer(rng)
        duration = rng.lognormvariate(math.log(medians[service]), SIGMA)
        customers.append(Customer(t, service, tier, appointment, duration))


def run_day(
    customers: list[Customer],
    policy: QueuePolicy,
    *,
    all_ordinary: bool = False,
    branch: tuple[QueueEngine, ManualClock, datetime] | None = None,
) -> dict[int, dict[str, float | bool]]:
    """Run one day through the engine (a fresh one, or `branch`: an engine with its history,
    its clock and the day's opening); return per customer: wait, estimate, priority."""
    engine, clock, opening = branch or _fresh(policy)
    clock.set(opening)
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
        clock.set(opening + timedelta(minutes=now))
        if kind == 1:
            index = int(payload)
            c = customers[index]
            ticket_id, result[index] = _arrive(engine, c, all_ordinary)
            by_ticket[ticket_id] = index
            for counter, serves in zip(counters, COUNTERS, strict=True):
                if not busy[counter] and c.service in serves:
                    call(counter, now)
                    break
        else:
            call(str(payload), now)
    return result


def _arrive(
    engine: QueueEngine, c: Customer, all_ordinary: bool
) -> tuple[str, dict[str, float | bool]]:
    """Issue a customer's ticket; return its id and the estimate as printed on it."""
    before = _before_issue(engine, c, all_ordinary)
    ticket = engine.issue(
        c.service,
        KIOSK,
        tier="mass" if all_ordinary else c.tier,
        appointment=c.appointment and not all_ordinary,
    ).ticket
    assert ticket is not None  # noqa: S101 - issue always returns its ticket
    estimate = engine.estimate(ticket.id)
    shown = estimate.whole_minutes()
    return ticket.id, {
        **before,
        "priority": ticket.priority,
        "estimate_mid_min": estimate.mid_min,
        "estimate_low_min": estimate.low_min,
        "shown_low": shown[0],
        "shown_high": shown[1],
        "next": estimate.next,
    }


def _fresh(policy: QueuePolicy) -> tuple[QueueEngine, ManualClock, datetime]:
    clock = ManualClock(OPEN)
    return QueueEngine(bench_config(policy), clock), clock, OPEN


def _before_issue(engine: QueueEngine, c: Customer, all_ordinary: bool) -> dict[str, float]:
    """The classic estimate and the range the formula alone gave, as the customer arrives:
    people waiting for the service x its typical time / counters open for it; median to p80."""
    snapshot = engine.snapshot()
    serving = [n for n, serves in enumerate(COUNTERS) if c.service in serves]
    typical = {s[0]: s[2] for s in SERVICES}[c.service]
    priority = not all_ordinary and engine.estimator.is_priority(c.tier, c.appointment)
    raw = engine.estimator.raw_new(snapshot, c.service, priority)
    median, p80 = snapshot.service_min[c.service]
    return {
        "classic_min": snapshot.waiting(c.service) * typical / len(serving),
        "formula_low_min": raw * 2 * median / (median + p80),
        "formula_high_min": raw * 2 * p80 / (median + p80),
    }


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
