"""The one back-off: exponential, capped, with jitter so retries do not march in lockstep."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delays of first, first*factor, ... up to cap seconds, each spread by +-jitter of itself.

    Stateful use (`next()` / `reset()`) suits a reconnect loop; `delay(failures)` suits a
    store that counts failures itself (the outbox keeps them per event).
    """

    first: float = 0.25
    cap: float = 10.0
    factor: float = 2.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, repr=False)
    _attempt: int = field(default=0, init=False)

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` consecutive failures (0 gives the first delay)."""
        base = min(self.cap, self.first * self.factor ** min(max(failures, 0), 64))
        spread = base * self.jitter
        return min(self.cap, max(0.0, base + self.rng.uniform(-spread, spread)))

    def next(self) -> float:
        """Return the delay before the next attempt and count the attempt."""
        delay = self.delay(self._attempt)
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the first delay (after a success)."""
        self._attempt = 0

    @property
    def attempts(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._attempt
