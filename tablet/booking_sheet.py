"""The booking sheet over a work screen: service, window and advisor for a same-day appointment.

The brief card's "Book" button opens it for the customer on the card; it sends the booking on
the app's loop (tablet/booking.py) and closes when the hub confirms it. A refusal leaves it open,
the hub's words on the status line, so another window can be picked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.graphics import Color, Rectangle
from kivy.metrics import dp
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from branch_hub.client import Role, WireError
from tablet import theme, words
from tablet.booking import (
    ADVISOR_ROLES,
    BOOKERS,
    book,
    end_times,
    hours_today,
    load_day,
    service_label,
    start_times,
)
from tablet.counter_work import load_targets
from tablet.i18n import _
from tablet.overlay import Overlay, overlay_on, screen_of

__all__ = ["BookingSheet", "offer_booking", "open_sheet", "sheet_buttons", "sheet_of"]

_SCRIM = (0.0, 0.0, 0.0, 0.45)
WATCH_EVERY_S = 0.1  # while a booking is on its way: has the hub answered?


def _grid(cols: int) -> GridLayout:
    grid = GridLayout(cols=cols, size_hint_y=None, spacing=dp(theme.SPACE["xs"]))
    grid.row_default_height = grid.row_force_default = dp(theme.TOUCH_MIN)
    grid.bind(minimum_height=grid.setter("height"))
    return grid


def sheet_of(screen: Any) -> BookingSheet | None:
    """The booking sheet open over a screen, if any."""
    return overlay_on(screen, BookingSheet)


def sheet_buttons(screen: Any) -> dict[str, Button]:
    """The open sheet's buttons by what they do (none when it is closed)."""
    sheet = sheet_of(screen)
    return dict(sheet.buttons) if sheet is not None else {}


def open_sheet(card: Widget, tablet: Any, visit_id: str, who: str) -> None:
    """Open the sheet over the card's screen for the customer of `visit_id`."""
    screen = screen_of(card)
    if screen is None or sheet_of(screen) is not None:
        return
    tablet.activity()
    if tablet.state.targets is None:
        load_targets(tablet)
    if hours_today(tablet.bookings) is None:
        load_day(tablet)  # its answer carries today's opening hours
    screen.add_widget(BookingSheet(tablet, visit_id, who))


def offer_booking(card: Any, tablet: Any, brief: Any) -> None:
    """Add the "Book" button to the brief card's note row, for a known customer and a booker."""
    session = tablet.state.session
    if brief is None or brief.walk_in or session is None or session.role not in BOOKERS:
        return
    rows = [c for c in card.bar.children if isinstance(c, Factory.ButtonRow)]
    if not rows:
        return
    who = brief.salutation_zh or ""
    button: Button = Factory.QuietButton(text=_("Book"), size_hint_x=None, width=dp(120))
    button.bind(on_release=lambda *_: open_sheet(card, tablet, brief.visit_id, who))
    card.buttons["book"] = button
    rows[0].add_widget(button)


class BookingSheet(Overlay):
    """Drawn over the work screen: pick a service, a start, an end and who receives, then book."""

    def __init__(self, tablet: Any, visit_id: str, who: str, **kw: Any) -> None:
        super().__init__(anchor_x="center", anchor_y="center", **kw)
        self.tablet, self.visit_id, self.who = tablet, visit_id, who
        self.service: str | None = None
        self.start: str | None = None
        self.end: str | None = None
        self.role: Role | None = None
        self.sent: str | None = None  # the request id on its way
        self.buttons: dict[str, Button] = {}
        self._targets: Any = None
        self._day: Any = None
        with self.canvas.before:
            Color(*_SCRIM)
            self._scrim = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._cover, size=self._cover)
        # On a short screen (portrait, density 2) the sheet scrolls rather than overflow.
        self.scroll = ScrollView(size_hint=(0.86, None), do_scroll_x=False, bar_width=dp(6))
        self.panel = Factory.Panel(size_hint=(1, None), spacing=dp(theme.SPACE["s"]))
        self.panel.bind(minimum_height=self.panel.setter("height"))
        self.panel.bind(height=self._fit)
        self.bind(height=self._fit)
        self.scroll.add_widget(self.panel)
        self.add_widget(self.scroll)
        self._watch = Clock.schedule_interval(self._check, WATCH_EVERY_S)
        self.draw()

    def _cover(self, *_: Any) -> None:
        self._scrim.pos, self._scrim.size = self.pos, self.size

    def _fit(self, *_: Any) -> None:
        self.scroll.height = min(self.panel.height, max(dp(100), self.height - dp(16)))

    # -- drawing ------------------------------------------------------------------------------
    def draw(self) -> None:
        """Lay out the choices and the two actions."""
        panel = self.panel
        panel.clear_widgets()
        self.buttons = {}
        title = _("Book a visit today for {who}").format(who=self.who) if self.who else ""
        panel.add_widget(Factory.Title(text=title or _("Book a visit today")))
        self._services()
        self._times()
        self._roles()
        row = Factory.ButtonRow()
        ready = None not in (self.service, self.start, self.end) and self.sent is None
        for key, kind, text, press in (
            ("book_cancel", "QuietButton", _("Cancel"), self.close),
            ("book_send", "PrimaryButton", _("Book"), self._send),
        ):
            button = getattr(Factory, kind)(text=text)
            button.bind(on_release=lambda *_, p=press: p())
            self.buttons[key] = button
            row.add_widget(button)
        self.buttons["book_send"].disabled = not ready
        panel.add_widget(row)

    def _choice(self, grid: GridLayout, key: str, text: str, chosen: bool, press: Any) -> None:
        button = (Factory.PrimaryButton if chosen else Factory.QuietButton)(text=text)
        button.height = dp(theme.TOUCH_MIN)
        button.bind(on_release=lambda *_: press())
        self.buttons[key] = button
        grid.add_widget(button)

    def _services(self) -> None:
        self.panel.add_widget(Factory.Heading(text=_("Service")))
        targets = self.tablet.state.targets
        if targets is None:
            self.panel.add_widget(Factory.Caption(text=_("Loading the branch's services…")))
            return
        grid = _grid(4)
        for service in targets.services:
            text = service_label(service.code, service.name_zh, service.name_en)
            chosen = service.code == self.service
            self._choice(
                grid,
                f"book_service:{service.code}",
                text,
                chosen,
                self._set("service", service.code),
            )
        self.panel.add_widget(grid)

    def _closes(self) -> str | None:
        """Today's closing time from the hub, if the tablet holds it and the branch opens today."""
        day = hours_today(self.tablet.bookings)
        return None if day is None else day.closes

    def _starts(self) -> list[str] | None:
        """The start times on offer, or None after saying why there are none."""
        day = hours_today(self.tablet.bookings)
        if day is None:
            self.panel.add_widget(Factory.Caption(text=_("Loading today's opening hours…")))
            return None
        if day.opens is None or day.closes is None:
            self.panel.add_widget(Factory.Caption(text=_("The branch is closed today")))
            return None
        starts = start_times(self.tablet.bookings.clock(), day.opens, day.closes)
        if not starts:
            self.panel.add_widget(Factory.Caption(text=_("No more windows today")))
            return None
        return starts

    def _times(self) -> None:
        self.panel.add_widget(Factory.Heading(text=_("Starts at")))
        starts, closes = self._starts(), self._closes()
        if starts is None or closes is None:
            return
        grid = _grid(self._time_columns())
        for at in starts:
            self._choice(grid, f"book_start:{at}", at, at == self.start, self._set("start", at))
        self.panel.add_widget(grid)
        self.panel.add_widget(Factory.Heading(text=_("Ends at")))
        if self.start is None:
            self.panel.add_widget(Factory.Caption(text=_("Pick the start first")))
            return
        grid = _grid(self._time_columns())
        for at in end_times(self.start, closes):
            self._choice(grid, f"book_end:{at}", at, at == self.end, self._set("end", at))
        self.panel.add_widget(grid)

    def _time_columns(self) -> int:
        """As many quarter hours to a row as fit at a touchable width."""
        from kivy.core.window import Window

        return max(4, min(14, int(Window.width * 0.8 / dp(84))))

    def _roles(self) -> None:
        self.panel.add_widget(Factory.Heading(text=_("Who receives the customer")))
        grid = _grid(4)
        for role in ADVISOR_ROLES:
            text = words.role_title(role) if role else _("Me")
            key = f"book_role:{role or 'me'}"
            self._choice(grid, key, text, role == self.role, self._set("role", role))
        self.panel.add_widget(grid)

    def _set(self, name: str, value: Any) -> Callable[[], None]:
        def press() -> None:
            self.tablet.activity()
            setattr(self, name, value)
            closes = self._closes()
            if name == "start" and (closes is None or self.end not in end_times(value, closes)):
                self.end = None  # the ends on offer follow the start
            self.draw()

        return press

    # -- sending ------------------------------------------------------------------------------
    def _send(self) -> None:
        if self.service is None or self.start is None or self.end is None or self.sent:
            return
        try:
            self.sent = book(
                self.tablet, self.visit_id, self.service, self.start, self.end, self.role
            )
        except WireError:
            return  # the choices come from the pickers: a wrong shape cannot be picked
        self.draw()

    def _check(self, _dt: float) -> None:
        """Close once the hub confirmed the booking; open the button again after a refusal."""
        if self.tablet.state.session is None:
            return self.close()  # logged out: nothing of the customer stays on screen
        targets, day = self.tablet.state.targets, self.tablet.bookings.day
        if targets is not self._targets or day is not self._day:
            self._targets, self._day = targets, day
            self.draw()
        if self.sent is None:
            return
        if self.tablet.bookings.booked_for == self.sent:
            self.close()
        elif not self.tablet.busy:
            self.sent = None  # refused: the status line says why; pick again
            self.draw()

    def close(self) -> None:
        """Take the sheet off the screen."""
        self._watch.cancel()
        if self.parent is not None:
            self.parent.remove_widget(self)
