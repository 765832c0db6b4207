"""The open brief's timeline: fetched from the hub, held in memory only, refreshed live.

Staff open it from the brief card; while it is open, every claim, note, hand-off or lead
outcome on that visit (a colleague's or one's own) fetches it again, as an open brief does.
"""

from __future__ import annotations

from typing import Any, Protocol

from branch_hub.client import EventKind, HubClient
from branch_hub.client.models import VisitTimeline
from tablet.state import TabletState
from tablet.worker import Job, once_more

__all__ = ["close_timeline", "follow_timeline", "open_timeline", "show_timeline"]

# Events that add an entry to a visit's timeline.
_TIMELINE_KINDS = frozenset(
    {EventKind.NOTE_ADDED, EventKind.CLAIMED, EventKind.HANDOFF, EventKind.LEAD_OUTCOME}
)


class _Tablet(Protocol):
    state: TabletState

    def submit(self, tag: str, job: Job) -> None:
        """Run a hub call on the worker."""

    def _client(self) -> HubClient:
        """The hub client."""


def open_timeline(tablet: _Tablet, visit_id: str) -> None:
    """Show the visit's timeline in the brief card and fetch it."""
    tablet.state.timeline_for = visit_id
    tablet.state.touch()
    tablet.submit("timeline", lambda: once_more(lambda: tablet._client().timeline(visit_id)))


def close_timeline(state: TabletState) -> None:
    """Back to the brief; the timeline is forgotten."""
    state.timeline_for, state.timeline = None, None
    state.touch()


def show_timeline(state: TabletState, result: Any) -> None:
    """A fetched timeline: kept if it is still the one wanted."""
    if isinstance(result, VisitTimeline) and result.visit_id == state.timeline_for:
        state.timeline = result


def follow_timeline(tablet: _Tablet, message: Any) -> None:
    """A stream event on the visit whose timeline is open: fetch it again."""
    state = tablet.state
    data = message.get("data") if isinstance(message, dict) else None
    wanted = state.timeline_for
    if wanted is None or not isinstance(data, dict) or message.get("kind") not in _TIMELINE_KINDS:
        return
    if (
        data.get("visit_id") == wanted
        and state.brief is not None
        and state.brief.visit_id == wanted
    ):
        open_timeline(tablet, wanted)
