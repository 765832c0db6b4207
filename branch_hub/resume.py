"""Resuming the live stream: replay from the log, or tell the client to reload.

A client reconnects with `since=N`, the last sequence number it saw. The log keeps one unbroken
run of sequence numbers `first_kept..last` (older whole days are pruned). The client can be
brought up to date by replay only if the event right after N is still kept; otherwise it gets
`{"type": "resync", "reason": ..., "last_seq": last}`, reloads what it shows over REST, and
resumes with `since=last`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Replay", "Resync", "ResyncReason", "resume_plan"]


class ResyncReason(StrEnum):
    """Why a client must reload instead of replaying."""

    PRUNED = "pruned"  # the events after its `since` were deleted by retention
    UNKNOWN_SEQ = "unknown_seq"  # it saw more than this hub's log holds (restored database)
    TOO_SLOW = "too_slow"  # it fell a whole queue behind the live stream


@dataclass(frozen=True)
class Replay:
    """Send every kept event with a sequence number above `after`, then go live."""

    after: int


@dataclass(frozen=True)
class Resync:
    """Tell the client to reload over REST and resume from `last_seq`."""

    reason: ResyncReason
    last_seq: int

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON object sent to the client before the socket closes."""
        return {"type": "resync", "reason": str(self.reason), "last_seq": self.last_seq}


def resume_plan(since: int, first_kept: int, last: int) -> Replay | Resync:
    """Decide how a client that saw up to `since` catches up with a log of `first_kept..last`.

    `first_kept` is 0 for an empty log. Replay only when no event after `since` is missing.
    """
    if since > last:
        return Resync(ResyncReason.UNKNOWN_SEQ, last)
    if first_kept > 0 and since < first_kept - 1:
        return Resync(ResyncReason.PRUNED, last)
    return Replay(since)
