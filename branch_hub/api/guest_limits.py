"""The guest listener's budgets per source address: token guesses, requests, live streams."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

__all__ = ["AddressBudget", "StreamSlots"]

log = logging.getLogger("branch_hub.guest")

MAX_ADDRESSES = 4096  # buckets kept; full (idle) ones are forgotten first


class AddressBudget:
    """A token bucket per address: `per_min` a minute, a burst of as many; refusals log once."""

    def __init__(
        self, what: str, per_min: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what, self.per_min, self._clock = what, per_min, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self._flooding: set[str] = set()  # refused since its bucket was last full
        self.refused = 0

    def _tokens(self, address: str) -> float:
        now = self._clock()
        tokens, then = self._buckets.get(address, (float(self.per_min), now))
        tokens = min(float(self.per_min), tokens + (now - then) * self.per_min / 60.0)
        if tokens >= self.per_min:
            self._flooding.discard(address)  # quiet again: a new flood is logged again
        return tokens

    def wait_s(self, address: str) -> int:
        """0 when `address` may go on, else whole seconds until it may (counted and logged)."""
        tokens = self._tokens(address)
        if tokens >= 1.0:
            return 0
        self.refused += 1
        if address not in self._flooding:
            self._flooding.add(address)
            log.warning(
                "guest listener: %s is over %d %s a minute; refusing with 429 until it slows down",
                address,
                self.per_min,
                self.what,
            )
        return max(1, math.ceil((1.0 - tokens) * 60.0 / self.per_min))

    def spend(self, address: str) -> None:
        """Take one from the address's bucket."""
        tokens = self._tokens(address)
        if address not in self._buckets and len(self._buckets) >= MAX_ADDRESSES:
            self._forget()
        self._buckets[address] = (max(0.0, tokens - 1.0), self._clock())

    def _forget(self) -> None:
        full = [a for a in self._buckets if self._tokens(a) >= self.per_min]
        for address in full or list(self._buckets)[: MAX_ADDRESSES // 2]:
            del self._buckets[address]


class StreamSlots:
    """Live streams held at once: in all and per address."""

    def __init__(self, total: int, per_address: int = 4) -> None:
        self.total, self.per_address = total, per_address
        self._held: dict[str, int] = {}
        self.open = 0

    def take(self, address: str) -> bool:
        """Hold a slot for `address`, or refuse (False) at a cap."""
        held = self._held.get(address, 0)
        if self.open >= self.total or held >= self.per_address:
            return False
        self._held[address] = held + 1
        self.open += 1
        return True

    def give_back(self, address: str) -> None:
        """Free one of the address's slots."""
        held = self._held.get(address, 0) - 1
        if held > 0:
            self._held[address] = held
        else:
            self._held.pop(address, None)
        self.open -= 1
