"""What the lobby's screens show of the queue, from one dashboard read.

The kiosk menu's ranges, the display's and tablets' waiting counts and the `waiting_changed`
push event all come from `Dashboard.waiting` and `Dashboard.new_ticket_wait`, which the engine
works out with the same `WaitEstimator` as the ticket's own estimate.
"""

from __future__ import annotations

from typing import Any, Protocol

from branch_common.wait_words import wait_words_both
from branch_hub.queue._estimate import WaitRange
from branch_hub.queue._model import Dashboard

__all__ = ["DashboardSource", "menu_estimates", "waiting_snapshot"]


class DashboardSource(Protocol):
    """Anything that reads the dashboard in one go: a `QueueEngine` or a `QueueStore`."""

    def dashboard(self) -> Dashboard:
        """Return the lobby dashboard."""
        ...


def _read(source: Dashboard | DashboardSource) -> Dashboard:
    return source if isinstance(source, Dashboard) else source.dashboard()


def menu_estimates(
    source: Dashboard | DashboardSource, *, priority: bool = False
) -> dict[str, WaitRange]:
    """Return, per service, the range a ticket issued now would get (what the menu shows)."""
    board = _read(source)
    return dict(board.new_priority_wait if priority else board.new_ticket_wait)


def waiting_snapshot(source: Dashboard | DashboardSource) -> dict[str, Any]:
    """Return the `waiting_changed` push data: waiting counts and an ordinary customer's
    whole-minute range if they took a ticket now, per service, with its words in each language
    (what the lobby display shows, the same words as the kiosk and the ticket)."""
    board = _read(source)
    minutes = {code: r.whole_minutes() for code, r in board.new_ticket_wait.items()}
    return {
        "waiting": dict(board.waiting),
        "wait_min": {code: list(pair) for code, pair in minutes.items()},
        "wait_text": {code: wait_words_both(*pair) for code, pair in minutes.items()},
    }
