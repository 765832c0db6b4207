"""The one wait estimate every screen shows: the printed ticket, the kiosk menu, the display.

`WaitEstimator` is pure: it reads a `QueueSnapshot` (counts, open and busy counters, service
times) and knows only the branch's counters and the calling policy. The engine builds the
snapshot; the ticket's estimate, the "if you took a ticket now" figure of the menu and the
capacity the aging cap charges with all come from here, so they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from branch_hub.config import BranchConfig, PriorityPolicy, QueuePolicy
from branch_hub.queue._calibration import NEXT_WITHIN_MIN, WaitCalibration

__all__ = [
    "MIN_CAPACITY",
    "MIN_SERVICE_MIN",
    "QueueSnapshot",
    "WaitEstimator",
    "WaitRange",
]

MIN_SERVICE_MIN = 0.1
"""Floor for statistics made of near-zero durations (a counter's share never divides by 0)."""

MIN_CAPACITY = 0.1
"""Floor of a service's capacity in counters."""


@dataclass(frozen=True, slots=True)
class WaitRange:
    """Expected wait in minutes: the range past waits of similar tickets fell in (7th to 93rd
    percentile), the point estimate, how many are called first, and whether the customer is
    about to be called."""

    ahead: int
    low_min: float
    high_min: float
    point_min: float | None = None
    """The point estimate (the median wait of similar tickets); None: the range's midpoint."""
    next: bool = False
    """Nobody ahead and 9 in 10 such customers are called within `NEXT_WITHIN_MIN`."""

    @property
    def mid_min(self) -> float:
        """Return the point estimate (the midpoint of the range if none was worked out)."""
        if self.point_min is not None:
            return self.point_min
        return (self.low_min + self.high_min) / 2

    def whole_minutes(self) -> tuple[int, int]:
        """Return the range in whole minutes, as tickets and screens print it: (0, 0) means
        "next"; otherwise low <= high and high >= 1."""
        if self.next:
            return 0, 0
        low = math.floor(self.low_min)
        return low, max(low, math.ceil(self.high_min), 1)


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """What the estimate reads of the queue at one instant: counts only, no tickets."""

    priority: Mapping[str, int]
    """Tickets in each service's priority queue."""
    ordinary: Mapping[str, int]
    """Tickets in each service's ordinary queue."""
    reserved: Mapping[str, int]
    """Tickets of each service waiting for one counter (transferred to it)."""
    open_counters: frozenset[str]
    busy_counters: frozenset[str]
    """Counters serving a ticket now."""
    service_min: Mapping[str, tuple[float, float]]
    """Median and 80th percentile service time of each service, in minutes."""

    def queued(self, service: str, priority: bool) -> int:
        """Return how many wait in one class's queue of a service."""
        return (self.priority if priority else self.ordinary).get(service, 0)

    def waiting(self, service: str) -> int:
        """Return how many wait for a service, reserved ones included."""
        return (
            self.priority.get(service, 0)
            + self.ordinary.get(service, 0)
            + self.reserved.get(service, 0)
        )

    def joined(self, service: str, priority: bool) -> QueueSnapshot:
        """Return the snapshot with one more ticket at the back of a service's queue."""
        counts = dict(self.priority if priority else self.ordinary)
        counts[service] = counts.get(service, 0) + 1
        return replace(self, priority=counts) if priority else replace(self, ordinary=counts)


class WaitEstimator:
    """The wait formula, fixed by the branch's counters and the calling policy in force."""

    def __init__(
        self,
        config: BranchConfig,
        policy: QueuePolicy | None = None,
        calibration: WaitCalibration | None = None,
    ) -> None:
        self._policy = policy or config.queue
        self.calibration = calibration or WaitCalibration()
        """How long customers waited against the raw formula (fed by the queue state)."""
        self._services = tuple(s.code for s in config.services)
        self._counter_services = {c.id: tuple(c.services) for c in config.counters}
        self._serving = {
            s: tuple(c.id for c in config.counters if s in c.services) for s in self._services
        }
        self._tier_priority = {t.code: t.priority for t in config.tiers}

    @property
    def services(self) -> tuple[str, ...]:
        """Return the service codes in configuration order."""
        return self._services

    def is_priority(self, tier: str | None, appointment: bool = False) -> bool:
        """Return whether a ticket of this tier (or an appointment) joins the priority class."""
        return appointment or (tier is not None and self._tier_priority.get(tier, False))

    def ahead(self, position: int, other_class: int, priority: bool) -> int:
        """Count who is called first: those ahead in the own queue plus the other class's
        tickets the policy lets through meanwhile."""
        pw, ow = self._policy.priority_weight, self._policy.ordinary_weight
        if self._policy.policy is PriorityPolicy.STRICT:
            interleaved = 0 if priority else other_class
        elif priority:
            interleaved = min(other_class, math.floor(position * ow / pw))
        else:
            interleaved = min(other_class, math.ceil((position + 1) * pw / ow))
        return position + interleaved

    def capacity(self, snapshot: QueueSnapshot, service: str) -> float:
        """Return how many counters' worth of capacity serve a service (at least 0.1).

        Each open counter (or, if none is open, each configured one) is shared among its
        services by their waiting work; the service's shares are added up.
        """
        serving = self._serving[service]
        counters = [c for c in serving if c in snapshot.open_counters] or list(serving)
        total = 0.0
        for counter_id in counters:
            weights = {
                code: (snapshot.queued(code, True) + snapshot.queued(code, False) + 1)
                * max(snapshot.service_min[code][0], MIN_SERVICE_MIN)
                for code in self._counter_services[counter_id]
            }
            total += weights[service] / sum(weights.values())
        return max(total, MIN_CAPACITY)

    def busy_fraction(self, snapshot: QueueSnapshot, service: str) -> float:
        """Return the share of the service's open counters serving someone (1 if none is open)."""
        counters = [c for c in self._serving[service] if c in snapshot.open_counters]
        if not counters:
            return 1.0
        return sum(1 for c in counters if c in snapshot.busy_counters) / len(counters)

    def raw(self, snapshot: QueueSnapshot, service: str, ahead: int, capacity: float) -> float:
        """Return the formula's point in minutes for `ahead` called first, served by `capacity`."""
        median, p80 = snapshot.service_min[service]
        # each one ahead takes one service time spread over the counters; with nobody ahead
        # the customer still waits for the first counter to free up (about half a service)
        start = ahead + 0.5 * self.busy_fraction(snapshot, service)
        return start * (median + p80) / 2 / capacity

    def wait(self, snapshot: QueueSnapshot, service: str, ahead: int, capacity: float) -> WaitRange:
        """Return the calibrated range for a ticket with `ahead` called first."""
        low, point, high = self.calibration.bounds(self.raw(snapshot, service, ahead, capacity))
        return WaitRange(ahead, low, high, point, ahead == 0 and high <= NEXT_WITHIN_MIN)

    def raw_new(self, snapshot: QueueSnapshot, service: str, priority: bool) -> float:
        """Return the formula's point for a ticket joining a class queue now (at its back)."""
        joined = snapshot.joined(service, priority)
        position = snapshot.queued(service, priority)
        ahead = self.ahead(position, joined.queued(service, not priority), priority)
        return self.raw(joined, service, ahead, self.capacity(joined, service))

    def for_queued(
        self, snapshot: QueueSnapshot, service: str, position: int, priority: bool
    ) -> WaitRange:
        """Return the range of a ticket at `position` (0 = head) of a service's class queue."""
        ahead = self.ahead(position, snapshot.queued(service, not priority), priority)
        return self.wait(snapshot, service, ahead, self.capacity(snapshot, service))

    def for_reserved(self, snapshot: QueueSnapshot, service: str, position: int) -> WaitRange:
        """Return the range of a ticket at `position` of one counter's own queue."""
        return self.wait(snapshot, service, position, 1.0)

    def for_new(self, snapshot: QueueSnapshot, service: str, priority: bool) -> WaitRange:
        """Return the range a ticket issued now for a service would get."""
        position = snapshot.queued(service, priority)
        return self.for_queued(snapshot.joined(service, priority), service, position, priority)

    def menu(self, snapshot: QueueSnapshot, priority: bool = False) -> dict[str, WaitRange]:
        """Return, per service, the range a ticket issued now would get."""
        return {code: self.for_new(snapshot, code, priority) for code in self._services}
