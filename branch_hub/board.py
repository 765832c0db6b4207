"""The calling board: today's last calls (rebuilt from today's part of the event log after a
restart) and the last waiting figures pushed."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from branch_hub.push import EventLog, PushEvent
from branch_hub.vocabulary import EventKind

__all__ = ["CALL_KINDS", "CallBoard"]

CALL_KINDS = frozenset({EventKind.CALLED, EventKind.RECALLED})
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
    """Recent calls and waiting figures as the lobby display shows them (no customer data:
    tickets, counters and counts only)."""

    def __init__(self, size: int = 8) -> None:
        self._calls: deque[dict[str, Any]] = deque(maxlen=size)
        self._waiting: dict[str, Any] | None = None

    def apply(self, event: PushEvent) -> bool:
        """Update the board from an event; return True if it changed."""
        if event.kind == EventKind.WAITING_CHANGED:
            self._waiting = {
                "waiting": dict(event.data.get("waiting") or {}),
                "wait_min": dict(event.data.get("wait_min") or {}),
            }
            if "wait_text" in event.data:  # events logged before the words were sent lack them
                self._waiting["wait_text"] = dict(event.data["wait_text"] or {})
            return True
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
        for event in log.latest({EventKind.WAITING_CHANGED}, first, limit=1):
            self.apply(event)  # today's last waiting figures, one indexed read
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

    def waiting(self) -> dict[str, Any] | None:
        """Return the last `waiting_changed` data (counts and wait ranges), None before one."""
        if self._waiting is None:
            return None
        return {key: dict(value) for key, value in self._waiting.items()}
