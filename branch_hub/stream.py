"""The branch-wide event stream: commit an event to the log, then show it to the board and push it.

`append` writes the event inside the caller's transaction (so a staff action's event commits
with the action); `publish` runs on the hub's loop after the commit. `emit` does both for events
that stand alone (device alerts, cache status).

Transactions commit one at a time, so sequence numbers are handed out in commit order, but the
coroutines that publish them after their commits may resume in any order. Subscribers must see
events in sequence (a client that saw N resumes with since=N), so `publish` releases them in
order: an event that arrives early is held until the ones before it are published, and if one
never is (its publisher went away), the missing ones are read back from the log.
"""

from __future__ import annotations

import asyncio
from typing import Any

from branch_hub.board import CallBoard
from branch_hub.push import Broadcaster, EventLog, PushEvent

__all__ = ["EventStream"]


class EventStream:
    """The log, the calling board and the live subscribers of one hub."""

    def __init__(self, log: EventLog, broadcaster: Broadcaster | None = None) -> None:
        self.log = log
        self.broadcaster = broadcaster or Broadcaster()
        self.board = CallBoard()
        self._published = log.last_seq()
        self._held: dict[int, PushEvent] = {}
        self._catching_up: asyncio.Task[None] | None = None

    def append(self, kind: str, data: dict[str, Any]) -> PushEvent:
        """Commit an event (joining an open transaction); call `publish` after the commit."""
        return self.log.append(kind, data)

    def publish(self, event: PushEvent) -> None:
        """Show a committed event on the board and queue it for subscribers, in sequence (loop)."""
        if event.seq <= self._published:
            return
        self._held[event.seq] = event
        self._release()
        if self._held and self._catching_up is None:
            self._catching_up = asyncio.get_running_loop().create_task(self._catch_up())

    def _release(self) -> None:
        while (event := self._held.pop(self._published + 1, None)) is not None:
            self._published = event.seq
            self.board.apply(event)
            self.broadcaster.publish(event)

    async def _catch_up(self, wait_s: float = 0.25) -> None:
        """Fill a gap that its own publisher did not fill in time, from the log."""
        try:
            await asyncio.sleep(wait_s)
            loop = asyncio.get_running_loop()
            while self._held:
                events = await loop.run_in_executor(None, self.log.since, self._published, 500)
                if not events:
                    break
                for event in events:
                    self._held.setdefault(event.seq, event)
                self._release()
                self._held = {seq: e for seq, e in self._held.items() if seq > self._published}
        finally:
            self._catching_up = None

    async def emit(self, kind: str, data: dict[str, Any]) -> PushEvent:
        """Commit an event off the loop, then publish it."""
        event = await asyncio.get_running_loop().run_in_executor(None, self.append, kind, data)
        self.publish(event)
        return event
