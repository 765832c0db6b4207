"""The calling board: the last calls, rebuilt from today's part of the event log after a restart."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from branch_hub.push import EventLog, PushEvent

__all__ = ["CALL_KINDS", "CallBoard"]

CALL_KINDS = frozenset({"called", "recalled"})
_BOARD_FIELDS = (
    "ticket",
    "service",
    "counter_id",
    "counter_number",
    "counter_name_zh",
    "counter_name_en",
    "voice_id",
)


class CallBoard:
    """Recent calls as the lobby display shows them (no customer data: tickets and counters only)."""

    def __init__(self, size: int = 8) -> None:
        self._calls: deque[dict[str, Any]] = deque(maxlen=size)

    def apply(self, event: PushEvent) -> bool:
        """Update the board from an event; return True if it changed."""
        if event.kind not in CALL_KINDS:
            return False
        call = {k: event.data.get(k) for k in _BOARD_FIELDS}
        call["at"] = event.at
        for old in list(self._calls):
            if old["ticket"] == call["ticket"]:
                self._calls.remove(old)
        self._calls.appendleft(call)
        return True

    def rebuild(self, log: EventLog, day_start: datetime) -> None:
        """Show the calls made since `day_start` as a hub that never stopped would."""
        # Walk today's calls newest first and stop once the board is full: the board is the
        # latest call of each of the most recently called tickets, so older calls cannot change it.
        self._calls.clear()
        first = log.first_seq_at(day_start)
        if first is None:
            return
        size = self._calls.maxlen or 0
        latest: dict[Any, PushEvent] = {}
        before: int | None = None
        while len(latest) < size:
            events = log.latest(CALL_KINDS, first, before, limit=2 * size)
            if not events:
                break
            for event in events:
                if len(latest) < size:
                    latest.setdefault(event.data.get("ticket"), event)
            before = events[-1].seq
        for event in reversed(latest.values()):
            self.apply(event)

    def calls(self) -> list[dict[str, Any]]:
        """Return the calls, newest first."""
        return list(self._calls)
