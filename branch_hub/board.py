"""The calling board: the last calls, rebuilt from the event log after a restart."""

from __future__ import annotations

from collections import deque
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

    def rebuild(self, log: EventLog) -> None:
        """Replay the log so a restarted hub shows the same board."""
        for event in log.iter_since(0):
            self.apply(event)

    def calls(self) -> list[dict[str, Any]]:
        """Return the calls, newest first."""
        return list(self._calls)
