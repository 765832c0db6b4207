"""The queue bench's wait-estimate figures: does the printed range hold the real wait?

Consecutive simulated days run through one engine, so the range learns from the days before as a
branch does; the first day starts with no history (the cold-start range). Every arrival's
range, as printed (whole minutes, "next" when about to be called), is checked against the wait
it then had, at the simulation's full time resolution. The same run measures the formula's old
median-to-p80 range and the classic "people waiting x typical service time / counters"
estimate. The held-back pattern is a differently shaped day (two peaks, a busy afternoon) run
through a fresh engine: nothing in the range was tuned on it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from bench.queue_branch import DEFAULT_POLICY, OPEN, POLICIES, PROFILE, bench_config
from bench.queue_day import run_day, simulate_arrivals
from branch_hub.queue import ManualClock, QueueEngine
from branch_hub.queue._calibration import NEXT_WITHIN_MIN

HOLDOUT_PROFILE = [160, 230, 110, 60, 140, 250, 200, 60]
"""Arrivals per hour of the held-back day pattern (peak 250/hour, two peaks)."""


def _covered(row: dict[str, float | bool]) -> bool:
    wait = float(row["wait_min"])
    if row["next"]:
        return wait <= NEXT_WITHIN_MIN
    return float(row["shown_low"]) <= wait <= float(row["shown_high"])


def _formula_covered(row: dict[str, float | bool]) -> bool:
    low = math.floor(float(row["formula_low_min"]))
    high = max(low, math.ceil(float(row["formula_high_min"])))
    return low <= float(row["wait_min"]) <= high


def run_days(profile: Sequence[int], days: int, seed: int) -> list[list[dict[str, float | bool]]]:
    """Run `days` consecutive days of one branch; return each day's rows."""
    clock = ManualClock(OPEN)
    engine = QueueEngine(bench_config(POLICIES[DEFAULT_POLICY]), clock)
    out = []
    for day in range(days):
        customers = simulate_arrivals(seed + day, profile)
        opening = OPEN + timedelta(days=day)
        rows = run_day(customers, POLICIES[DEFAULT_POLICY], branch=(engine, clock, opening))
        out.append([r for r in rows.values() if "wait_min" in r])
    return out


def _coverage(rows: list[dict[str, float | bool]]) -> float:
    return round(sum(_covered(r) for r in rows) / len(rows), 3)


def _width(row: dict[str, float | bool]) -> float:
    return float(row["shown_high"]) - float(row["shown_low"])


def _mae(rows: list[dict[str, float | bool]], point: Callable[[dict[str, Any]], float]) -> float:
    return round(statistics.fmean(abs(point(r) - float(r["wait_min"])) for r in rows), 2)


def _formula_mid(row: dict[str, Any]) -> float:
    return (float(row["formula_low_min"]) + float(row["formula_high_min"])) / 2


def figures(days: int) -> dict[str, Any]:
    """The estimate's figures over `days` days of the tuning pattern and of the held-back one."""
    tuned = run_days(PROFILE, days, seed=100)
    held = run_days(HOLDOUT_PROFILE, days, seed=500)
    rows = [r for day in tuned for r in day]
    ranged = [r for r in rows if not r["next"]]
    formula_widths = [float(r["formula_high_min"]) - float(r["formula_low_min"]) for r in rows]
    return {
        "wait_range_coverage": _coverage(rows),
        "wait_range_coverage_ranged": _coverage(ranged),
        "wait_range_width_min": round(statistics.median(_width(r) for r in ranged), 1),
        "wait_range_width_mean_min": round(statistics.fmean(_width(r) for r in ranged), 1),
        "wait_point_mae_min": _mae(rows, lambda r: float(r["estimate_mid_min"])),
        "wait_classic_mae_min": _mae(rows, lambda r: float(r["classic_min"])),
        "wait_range_coverage_holdout": _coverage([r for day in held for r in day]),
        "wait_range_coverage_first_day": _coverage(tuned[0]),
        "wait_next_share": round(sum(bool(r["next"]) for r in rows) / len(rows), 3),
        "wait_formula_range_coverage": round(sum(_formula_covered(r) for r in rows) / len(rows), 3),
        "wait_formula_range_coverage_exact": round(
            sum(
                float(r["formula_low_min"]) <= float(r["wait_min"]) <= float(r["formula_high_min"])
                for r in rows
            )
            / len(rows),
            3,
        ),
        "wait_formula_range_width_min": round(statistics.median(formula_widths), 1),
        "wait_formula_mid_mae_min": _mae(rows, _formula_mid),
        "wait_estimate_days": days,
    }
