"""Rolling per-service service-time statistics: median and 80th percentile of recent durations."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping

__all__ = ["FALLBACK_P80_FACTOR", "MIN_SAMPLES", "WINDOW", "ServiceTimes"]

WINDOW = 50
"""How many recent service durations per service the statistics keep."""

MIN_SAMPLES = 5
"""Below this many samples the configured typical time is used instead."""

FALLBACK_P80_FACTOR = 1.5
"""80th percentile over median used with the typical time (a lognormal with sigma 0.5 gives 1.52)."""


class ServiceTimes:
    """Recent service durations per service, with the configured typical time as fallback."""

    def __init__(self, typical_min: Mapping[str, float], window: int = WINDOW) -> None:
        self._typical = dict(typical_min)
        self._recent: dict[str, deque[float]] = {s: deque(maxlen=window) for s in typical_min}
        self._cache: dict[str, tuple[float, float]] = {}

    def copy(self) -> ServiceTimes:
        """Return an independent copy (to work out figures without changing these)."""
        twin = ServiceTimes(self._typical)
        twin._recent = {s: deque(d, maxlen=d.maxlen) for s, d in self._recent.items()}
        twin._cache = dict(self._cache)
        return twin

    def add(self, service: str, duration_s: float) -> None:
        """Record one finished service's duration in seconds."""
        self._recent[service].append(max(0.0, duration_s))
        self._cache.pop(service, None)

    def extend(self, samples: Iterable[tuple[str, float]]) -> None:
        """Record many (service, duration_s) samples in order."""
        for service, duration in samples:
            if service in self._recent:
                self.add(service, duration)

    def samples(self, service: str) -> int:
        """Return how many samples the window holds for a service."""
        return len(self._recent[service])

    def range_min(self, service: str) -> tuple[float, float]:
        """Return (median, 80th percentile) of recent durations in minutes."""
        cached = self._cache.get(service)
        if cached is not None:
            return cached
        recent = self._recent[service]
        if len(recent) < MIN_SAMPLES:
            typical = self._typical[service]
            result = (typical, typical * FALLBACK_P80_FACTOR)
        else:
            ordered = sorted(recent)
            n = len(ordered)
            mid = n // 2
            median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
            # nearest-rank percentile: the smallest value with at least 80% of samples at or below it
            p80 = ordered[max(0, math.ceil(0.8 * n) - 1)]
            result = (median / 60.0, p80 / 60.0)
        self._cache[service] = result
        return result

    def median_min(self, service: str) -> float:
        """Return the median service time in minutes."""
        return self.range_min(service)[0]
