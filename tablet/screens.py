"""One Screen per state of the tablet; each is drawn by its own kv file under tablet/kv/."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kivy.lang import Builder
from kivy.properties import (
    BooleanProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.button import Button
from kivy.uix.screenmanager import Screen
from kivy.uix.textinput import TextInput

from tablet import handoff_words, words
from tablet.board_view import BoardPanel, open_screen
from tablet.booking_sheet import sheet_buttons
from tablet.controller import Tablet
from tablet.counter_screen import CounterWork
from tablet.i18n import _
from tablet.identify_sheet import identify_buttons, identify_inputs
from tablet.state import Arrival

__all__ = ["SCREENS", "TabletScreen", "load_kv"]

KV = Path(__file__).with_name("kv")
# Shared rules first (the screens use them), then one file per screen.
KV_FILES: tuple[str, ...] = (
    "widgets",
    "brief",
    "handoff",
    "shell",
    "setup",
    "login",
    "lobby",
    "advisor",
)
KV_FILES += ("counter", "reconnecting", "revoked", "timeline", "board")
KV_FILES += ("compare", "presentation")
KV_FILES += ("catalogue", "product")  # their screens: tablet/catalogue_screens.py
KV_FILES += ("identify",)  # the sheet of tablet/identify_sheet.py


def load_kv() -> None:
    """Load every kv file once per process."""
    for name in KV_FILES:
        path = str(KV / f"{name}.kv")
        if path not in Builder.files:
            Builder.load_file(path)


class _View(Protocol):
    tablet: Tablet
    row_times: dict[str, float]

    def show_setup(self) -> None:
        """Leave the revoked notice for the enrolment form."""


class TabletScreen(Screen):  # type: ignore[misc]
    """A screen of the tablet: it finds its buttons and fields by their kv ids."""

    view = ObjectProperty(None)

    def buttons(self) -> dict[str, Button]:
        """The screen's buttons by id."""
        return {k: w for k, w in self.ids.items() if isinstance(w, Button)}

    def inputs(self) -> dict[str, TextInput]:
        """The screen's text fields by id."""
        return {k: w for k, w in self.ids.items() if isinstance(w, TextInput)}

    def refresh(self) -> None:
        """Show the tablet's state (most screens have nothing that changes)."""


class SetupScreen(TabletScreen):
    """Enrolment with the hub."""

    def refresh(self) -> None:
        """Offer the first hub mDNS found when no address is typed."""
        found = self.view.tablet.found_hubs
        if found and self.ids.hub.text in ("", "https://"):
            self.ids.hub.text = found[0].url

    def on_pre_enter(self, *_: Any) -> None:
        """Start from the saved hub address."""
        saved = self.view.tablet.store.settings().get("hub_url")
        if saved:
            self.ids.hub.text = str(saved)

    def enrol(self) -> None:
        """Send the form."""
        ids = self.ids
        self.view.tablet.enrol(ids.hub.text, ids.code.text, ids.fp.text)

    def scan(self) -> None:
        """Show the camera over the form; with no camera, say so and keep the typed form."""
        from tablet.camera_scan import NoCamera, ScanView, camera_frames, open_camera

        preview, frames = None, self.view.frame_source
        if frames is None:
            try:
                preview = open_camera()
            except NoCamera as exc:
                self.view.tablet.message = f"{exc.message_zh} / {exc.message}"
                self.view.tablet.state.touch()
                return
            frames = camera_frames(preview)
        self.add_widget(ScanView(frames, self._scanned, self._close_camera, preview))

    def _close_camera(self) -> None:
        for child in list(self.children):
            if type(child).__name__ == "ScanView":
                self.remove_widget(child)

    def _scanned(self, payload: str) -> None:
        """The camera read an enrolment QR: enrol with it as if it had been typed."""
        from branch_hub.client.enrolment_code import EnrolmentError, parse_enrolment_code

        self._close_camera()
        try:
            hub = parse_enrolment_code(payload).hub_url
        except EnrolmentError:
            hub = None  # the enrolment itself says what is wrong with the code
        if hub:
            self.ids.hub.text = hub
        self.ids.code.text = payload
        self.enrol()


class LoginScreen(TabletScreen):
    """Staff number and PIN."""

    def log_in(self) -> None:
        """Send the form; the PIN never stays in the field."""
        pin, self.ids.pin.text = self.ids.pin.text, ""
        self.view.tablet.login(self.ids.staff.text, pin)


class WorkScreen(TabletScreen):
    """A list of customers and the brief of the one picked."""

    visit_list = ObjectProperty(None)
    brief_card = ObjectProperty(None)
    count = NumericProperty(0)
    selected = StringProperty("")

    def buttons(self) -> dict[str, Button]:
        """The screen's buttons, those of the brief card and of the booking sheet when open."""
        sheets = {**sheet_buttons(self), **identify_buttons(self)}
        return {**super().buttons(), **self.brief_card.buttons, **sheets}

    def inputs(self) -> dict[str, TextInput]:
        """The note field of the brief card (and the identify sheet's number when open)."""
        return {"note": self.brief_card.note_input, **identify_inputs(self)}

    def visits(self) -> list[Arrival]:
        """The customers this screen lists."""
        waiting: list[Arrival] = self.view.tablet.state.board.waiting()
        return waiting

    def refresh(self) -> None:
        """Redraw the list's data (rows are reused) and the brief."""
        state = self.view.tablet.state
        me = state.session.staff_id if state.session else None
        now = datetime.now(UTC)
        visits = self.visits()
        self.count = len(visits)
        times = self.view.row_times if self.view.tablet.record_times else None
        data = []
        handovers, names = state.handoffs.handovers, state.handoffs.colleagues
        named = handoff_words.names(names)
        for visit in visits:
            given = handovers.get(visit.visit_id)
            where = handoff_words.place_text(visit, given)
            moved = handoff_words.handover_text(given, names)
            if times is not None and visit.visit_id not in times:
                times[visit.visit_id] = time.perf_counter()
            data.append(
                {
                    "visit_id": visit.visit_id,
                    "title": words.row_title(visit),
                    "detail": "  ·  ".join(
                        p for p in (words.row_detail(visit, now, me, named), where, moved) if p
                    ),
                    "priority": visit.priority,
                    "selected": visit.visit_id == self.selected,
                    "pick": self.pick,
                }
            )
        self.visit_list.data = data
        self.brief_card.show(self.view, state.brief)

    def pick(self, visit_id: str) -> None:
        """Open a customer's brief."""
        self.selected = visit_id
        self.view.tablet.open_brief(visit_id)


class LobbyScreen(WorkScreen):
    """The lobby manager's (and branch head's) view of everyone in the branch."""

    board_text = StringProperty("")

    def refresh(self) -> None:
        """The list, and the way to the lobby board."""
        self.board_text = _("Lobby board")
        super().refresh()

    def go_board(self) -> None:
        """Open the lobby board."""
        open_screen(self.view.tablet, "board")


class BoardScreen(TabletScreen):
    """The lobby board of the lobby and branch managers (tablet/board_view.py does the work)."""

    summary_text = StringProperty("")
    links_text = StringProperty("")
    links_alert = BooleanProperty(False)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.panel = BoardPanel(self)

    def on_enter(self, *_: Any) -> None:
        """Fetch the board now and while it is on show."""
        self.panel.start()
        self.panel.refresh()

    def on_leave(self, *_: Any) -> None:
        """Stop fetching."""
        self.panel.stop()

    def refresh(self) -> None:
        """Fetch again after new events (a burst is one fetch), then draw."""
        self.panel.refresh()

    def go_lobby(self) -> None:
        """Back to the customer list."""
        open_screen(self.view.tablet, "lobby")


class AdvisorScreen(WorkScreen):
    """A wealth or account manager's customers, handed to them or to their role."""

    def visits(self) -> list[Arrival]:
        """Only the customers handed to me or my role."""
        state = self.view.tablet.state
        session = state.session
        return state.board.handed_to(session.staff_id, session.role) if session else []


class CounterScreen(CounterWork, WorkScreen):
    """A teller's counter (its behaviour is tablet.counter_screen's)."""


class ReconnectingScreen(TabletScreen):
    """The live link is down."""


class RevokedScreen(TabletScreen):
    """The hub revoked the device."""


SCREENS: dict[str, type[TabletScreen]] = {
    "setup": SetupScreen,
    "login": LoginScreen,
    "lobby": LobbyScreen,
    "advisor": AdvisorScreen,
    "counter": CounterScreen,
    "board": BoardScreen,
    "reconnecting": ReconnectingScreen,
    "revoked": RevokedScreen,
}
