"""The report's arithmetic: nearest-rank percentiles, shares and summaries of durations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["duration_summary", "percentile", "share"]


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank p-th percentile (0 < p <= 1) of values, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 1)


def share(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places, None when whole is 0."""
    return round(part / whole, 4) if whole else None


def duration_summary(values: Sequence[float]) -> dict[str, Any]:
    """How many, their mean, median and 90th percentile in seconds."""
    return {
        "count": len(values),
        "mean_s": round(sum(values) / len(values), 1) if values else None,
        "p50_s": percentile(values, 0.5),
        "p90_s": percentile(values, 0.9),
    }
