"""The wait range a customer is promised, from how long customers in a similar state waited.

The formula in `_estimate.py` gives a raw point (people ahead times service time over capacity).
Each called ticket's raw point at issue is paired with the wait it then had, as the ratio of the
wait to the raw point; the ratios are kept per band of raw points, and a new raw point gets its
band's 7th to 93rd percentile ratio times the raw point as its range and the median ratio as
its point (docs/queue.md, "Wait range"). Until a band has enough history, fixed cold-start
factors stand in.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BANDS_MIN",
    "COLD",
    "COLD_MARGIN_MIN",
    "HIGH_QUANTILE",
    "LOW_QUANTILE",
    "MIN_BAND_SAMPLES",
    "NEXT_WITHIN_MIN",
    "BandFigures",
    "WaitCalibration",
]

BANDS_MIN = (0.5, 1.5, 3.0, 5.0, 8.0, 12.0, 17.0, 23.0, 30.0, 40.0, 55.0)
"""Upper edges of the raw-point bands in minutes (the last band is open)."""

WINDOW = 400
"""Recent (raw point, actual wait) pairs kept per band."""

MIN_BAND_SAMPLES = 40
"""Below this many pairs a band uses the cold-start factors."""

LOW_QUANTILE = 0.07
HIGH_QUANTILE = 0.93
"""The range holds the middle 86 % of past waits in the band: the past is a little kinder than
the next hour (waits are learnt only once called, so a building queue lags), and 10th-90th held
only 78 % of ranged tickets on the bench's days (docs/queue.md, "Wait range")."""

NEXT_WITHIN_MIN = 3.0
"""A customer with nobody ahead whose range ends within this many minutes is told "next"."""

SCALE_FLOOR_MIN = 1.0
"""Ratios are taken against at least this many minutes, so a raw point near zero stays usable."""


@dataclass(frozen=True, slots=True)
class BandFigures:
    """Actual wait over raw point in one band, at the low quantile, the median and the high one."""

    low: float
    mid: float
    high: float


COLD = BandFigures(low=0.6, mid=1.0, high=1.35)
"""Ratios used while a band has too little history (a new branch's first hours): wider than the
calibrated ranges on the bench's days, see docs/queue.md."""

COLD_MARGIN_MIN = 2.0
"""Minutes added to a cold-start range's top (the first counter may need that long to free up)."""


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values."""
    at = q * (len(ordered) - 1)
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


class WaitCalibration:
    """Per band of raw points, how many times the raw point customers actually waited."""

    def __init__(self, window: int = WINDOW) -> None:
        self._errors: list[deque[float]] = [deque(maxlen=window) for _ in range(len(BANDS_MIN) + 1)]
        self._figures: dict[int, BandFigures] = {}

    @staticmethod
    def band(raw_min: float) -> int:
        """Return the band index of a raw point."""
        return bisect.bisect_left(BANDS_MIN, raw_min)

    def add(self, raw_min: float, actual_min: float) -> None:
        """Record that a ticket whose raw point was `raw_min` at issue waited `actual_min`."""
        band = self.band(raw_min)
        self._errors[band].append(actual_min / max(raw_min, SCALE_FLOOR_MIN))
        self._figures.pop(band, None)

    def samples(self, raw_min: float) -> int:
        """Return how many pairs the band of a raw point holds."""
        return len(self._errors[self.band(raw_min)])

    def figures(self, raw_min: float) -> BandFigures | None:
        """Return the band's ratios at the low quantile, the median and the high quantile, or
        None while the band has too few pairs."""
        band = self.band(raw_min)
        cached = self._figures.get(band)
        if cached is not None:
            return cached
        errors = self._errors[band]
        if len(errors) < MIN_BAND_SAMPLES:
            return None
        ordered = sorted(errors)
        found = BandFigures(
            _quantile(ordered, LOW_QUANTILE),
            _quantile(ordered, 0.5),
            _quantile(ordered, HIGH_QUANTILE),
        )
        self._figures[band] = found
        return found

    def bounds(self, raw_min: float) -> tuple[float, float, float]:
        """Return (low, point, high) in minutes for a raw point, never below zero."""
        found = self.figures(raw_min)
        if found is None:
            low, point = raw_min * COLD.low, raw_min * COLD.mid
            high = raw_min * COLD.high + COLD_MARGIN_MIN
        else:
            scale = max(raw_min, SCALE_FLOOR_MIN)
            low, point, high = scale * found.low, scale * found.mid, scale * found.high
        low = max(0.0, low)
        point = max(low, point)
        return round(low, 2), round(point, 2), round(max(point, high), 2)
