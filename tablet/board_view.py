"""The lobby board screen's workings: fetch the board after new events, draw its sections.

A burst of stream events (arrivals, calls, claims, alerts) becomes one fetch through a Kivy
trigger, as the lobby list merges its redraws; while the board is on show it is fetched again
every few seconds so the waits move on. The sections are rows of `BoardCell`s (tablet/kv/board.kv).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory

from tablet.board_words import BoardLine, board_text
from tablet.i18n import _, language

__all__ = ["BoardPanel", "open_screen"]

FETCH_DELAY_S = 0.3  # events within this are one fetch
REFETCH_EVERY_S = 10.0  # the waits move on while the board is on show


def open_screen(tablet: Any, name: str) -> None:
    """Switch between the lobby list and the board."""
    tablet.activity()
    tablet.screen = name
    tablet.state.touch()


def headings() -> dict[str, str]:
    """The board's fixed words in the language shown now."""
    return {
        "services": _("Waiting by service"),
        "tiers": _("Waiting by tier, against the target"),
        "unclaimed": _("Priority customers not yet claimed"),
        "counters": _("Counters"),
        "devices": _("Station devices"),
        "to_lobby": _("Customer list"),
        "empty": _("Loading the lobby board…"),
    }


class BoardPanel:
    """Keeps one board screen's data fresh and its widgets drawn."""

    def __init__(self, screen: Any) -> None:
        self.screen = screen
        self._seen_seq = -1
        self._fetch = Clock.create_trigger(self._load, FETCH_DELAY_S)
        self._every: Any = None

    @property
    def tablet(self) -> Any:
        """The screen's tablet."""
        return self.screen.view.tablet

    def _load(self, *_: Any) -> None:
        if self.tablet.state.session is not None:
            self.tablet.load_board()

    def _again(self, _dt: float) -> None:
        self._fetch()

    def start(self) -> None:
        """The board comes on show: fetch it now and every few seconds."""
        self._seen_seq = -1
        self.stop()
        self._every = Clock.schedule_interval(self._again, REFETCH_EVERY_S)

    def stop(self) -> None:
        """The board leaves the screen: no more fetches."""
        if self._every is not None:
            self._every.cancel()
            self._every = None

    def refresh(self) -> None:
        """Fetch again if events came since the last draw, then draw what the tablet holds."""
        state = self.tablet.state
        if state.board.last_seq != self._seen_seq:
            self._seen_seq = state.board.last_seq
            self._fetch()
        screen = self.screen
        words = headings()
        for key in ("services", "tiers", "unclaimed", "counters", "devices"):
            screen.ids[f"h_{key}"].text = words[key]
        screen.ids.to_lobby.text = words["to_lobby"]
        board = state.lobby_board
        if board is None:
            screen.summary_text, screen.links_text, screen.links_alert = "", "", False
            self._fill("banners", [BoardLine(words["empty"])])
            return
        text = board_text(board, datetime.now(UTC))
        screen.summary_text = text.summary
        screen.links_text, screen.links_alert = text.links, text.links_alert
        chinese = language().startswith("zh")
        alerts = [BoardLine(a.message_zh if chinese else a.message, True) for a in board.alerts]
        self._fill("banners", alerts)
        self._fill("services", list(text.services))
        self._fill("tiers", list(text.tiers))
        self._fill("unclaimed", list(text.unclaimed))
        self._fill("counters", list(text.counters))
        self._fill("devices", list(text.devices))

    def _fill(self, box_id: str, lines: list[BoardLine]) -> None:
        """Show `lines` in a section, reusing its cells (a redraw adds no widgets when sizes hold)."""
        box = self.screen.ids[box_id]
        cells = list(reversed(box.children))
        while len(cells) < len(lines):
            cell = Factory.BoardCell()
            box.add_widget(cell)
            cells.append(cell)
        for cell in cells[len(lines) :]:
            box.remove_widget(cell)
        for cell, line in zip(cells, lines, strict=False):
            cell.text, cell.alert = line.text, line.alert
