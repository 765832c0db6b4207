"""Per-device write budgets: a token bucket for each device and each class of write route.

A device spends one token per request to a route of its class; tokens come back at a steady
rate up to the bucket's burst. An empty bucket tells how long until the next token, which the
API answers as 429 with `Retry-After`. Classes whose writes keep the branch serving (tickets,
queue commands, outcomes, logins) are `essential`: the disk reserve never refuses them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from branch_hub.vocabulary import WriteClass

__all__ = ["BUDGETS", "Budget", "WriteLimits"]


@dataclass(frozen=True)
class Budget:
    """One class's bucket: `burst` requests at once, then `per_s` a second; `essential` writes
    are accepted under the disk reserve."""

    burst: float
    per_s: float
    essential: bool


# A kiosk issues a ticket every few seconds at most and a tablet a few commands a second; a
# device reports an app update a few times a day. None: limited elsewhere (the security
# module's lockouts for login and enrolment), never by these buckets.
BUDGETS: Mapping[WriteClass, Budget | None] = {
    WriteClass.COMMAND: Budget(burst=30, per_s=5, essential=True),
    WriteClass.TICKET: Budget(burst=10, per_s=1, essential=True),
    WriteClass.SESSION: Budget(burst=30, per_s=5, essential=True),
    WriteClass.ADMIN: Budget(burst=30, per_s=5, essential=True),
    WriteClass.NOTE: Budget(burst=10, per_s=0.5, essential=False),
    WriteClass.REPORT: Budget(burst=5, per_s=0.1, essential=False),
    WriteClass.OWN_LOCKOUT: None,
}
# Buckets kept before full ones are forgotten (a full bucket is the same as no bucket).
_MAX_BUCKETS = 4096


class WriteLimits:
    """The buckets of every device that wrote lately; `scale` multiplies every budget (0: off).

    Used from the event loop only (no lock): a check is a few arithmetic steps.
    """

    def __init__(self, scale: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self._clock = clock
        # (device, class) -> (tokens, when they were counted)
        self._buckets: dict[tuple[str, WriteClass], tuple[float, float]] = {}

    @staticmethod
    def essential(kind: WriteClass) -> bool:
        """Whether the disk reserve lets this class of write through."""
        budget = BUDGETS[kind]
        return budget is None or budget.essential

    def take(self, device: str, kind: WriteClass) -> float:
        """Spend one token: 0.0 when the request may go on, else seconds until it may."""
        budget = BUDGETS[kind]
        if budget is None or self.scale <= 0:
            return 0.0
        burst, per_s = budget.burst * self.scale, budget.per_s * self.scale
        now = self._clock()
        tokens, then = self._buckets.get((device, kind), (burst, now))
        tokens = min(burst, tokens + (now - then) * per_s)
        if tokens < 1.0:
            self._buckets[(device, kind)] = (tokens, now)
            return (1.0 - tokens) / per_s
        self._buckets[(device, kind)] = (tokens - 1.0, now)
        if len(self._buckets) > _MAX_BUCKETS:
            self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        for key, (tokens, then) in list(self._buckets.items()):
            budget = BUDGETS[key[1]]
            assert budget is not None  # noqa: S101 (only budgeted classes get buckets)
            if tokens + (now - then) * budget.per_s * self.scale >= budget.burst * self.scale:
                del self._buckets[key]
