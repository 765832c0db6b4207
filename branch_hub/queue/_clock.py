"""A hand-driven clock for tests, simulations and the demo."""

from __future__ import annotations

from datetime import datetime, timedelta

from branch_hub.queue._errors import ClockError

__all__ = ["ManualClock"]


class ManualClock:
    """A clock that only moves when told to; call it to read the time."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ClockError("ManualClock needs an aware start time")
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0) -> datetime:
        """Move the clock forward and return the new time."""
        if seconds < 0 or minutes < 0:
            raise ClockError("ManualClock only moves forward")
        self._now += timedelta(seconds=seconds, minutes=minutes)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an aware instant not earlier than now."""
        if when.tzinfo is None or when < self._now:
            raise ClockError("ManualClock only moves forward to an aware time")
        self._now = when
