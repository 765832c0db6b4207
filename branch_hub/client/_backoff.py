"""Reconnect delays: exponential, capped, with jitter so devices do not reconnect in lockstep."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delays of first, first*factor, ... up to cap seconds, each jittered by +-jitter."""

    first: float = 0.25
    cap: float = 10.0
    factor: float = 2.0
    jitter: float = 0.2
    _attempt: int = field(default=0, init=False)
    _rng: random.Random = field(default_factory=random.Random, init=False, repr=False)

    def next(self) -> float:
        """Return the delay before the next attempt and count the attempt."""
        base = min(self.cap, self.first * self.factor**self._attempt)
        self._attempt += 1
        spread = base * self.jitter
        return max(0.0, base + self._rng.uniform(-spread, spread))

    def reset(self) -> None:
        """Start again from the first delay (after a successful connection)."""
        self._attempt = 0

    @property
    def attempts(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._attempt
