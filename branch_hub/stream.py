"""The branch-wide event stream: commit an event to the log, then show it to the board and push it.

`append` writes the event inside the caller's transaction (so a staff action's event commits
with the action); `publish` runs on the hub's loop after the commit. `emit` does both for events
that stand alone (device alerts, calls).
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

    def append(self, kind: str, data: dict[str, Any]) -> PushEvent:
        """Commit an event (joining an open transaction); call `publish` after the commit."""
        return self.log.append(kind, data)

    def publish(self, event: PushEvent) -> None:
        """Show a committed event on the board and queue it for subscribers (loop only)."""
        self.board.apply(event)
        self.broadcaster.publish(event)

    async def emit(self, kind: str, data: dict[str, Any]) -> PushEvent:
        """Commit an event off the loop, then publish it."""
        event = await asyncio.get_running_loop().run_in_executor(None, self.append, kind, data)
        self.publish(event)
        return event
