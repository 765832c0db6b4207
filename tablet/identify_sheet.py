"""The identify sheet over the lobby manager's screen: a walk-in shows an ID card, passbook or card.

The brief card of a waiting walk-in offers "Identify customer"; the sheet (drawn by
tablet/kv/identify.kv) takes what the customer shows, sends it (tablet/identify.py) and closes
when the hub confirms; the pushed row then shows the customer. A refusal leaves the sheet open,
the hub's words on the status line. The number leaves the field as soon as it is sent or the
sheet closes (and its undo history with it): nothing typed stays on the tablet.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.button import Button
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from branch_hub.client import WireError
from tablet.i18n import N_, _, said
from tablet.identify import IDENTIFIERS, fits, identify, load_desks, may_identify, typed
from tablet.overlay import Overlay, overlay_on, screen_of
from tablet.widgets import forget_widget_caches

__all__ = ["IdentifySheet", "identify_buttons", "identify_inputs", "offer_identify"]

WATCH_EVERY_S = 0.1  # while the identification is on its way: has the hub answered?
_HINTS = {
    "id_number": N_("18 characters; the last may be X"),
    "passbook": N_("The passbook's account number"),
    "pan": N_("The number on the card"),
}


def sheet_on(screen: Any) -> IdentifySheet | None:
    """The identify sheet open over a screen, if any."""
    return overlay_on(screen, IdentifySheet)


def identify_buttons(screen: Any) -> dict[str, Button]:
    """The open sheet's buttons by what they do (none when it is closed)."""
    sheet = sheet_on(screen)
    return sheet.buttons() if sheet is not None else {}


def identify_inputs(screen: Any) -> dict[str, TextInput]:
    """The open sheet's number field (none when it is closed)."""
    sheet = sheet_on(screen)
    return {"identify_value": sheet.ids.value} if sheet is not None else {}


def offer_identify(card: Any, tablet: Any, brief: Any) -> None:
    """Put "Identify customer" above the brief card's actions, for a waiting walk-in."""
    ticket_id = may_identify(tablet, brief)
    if ticket_id is None:
        return
    visit = tablet.state.board.visits[brief.visit_id]
    row = Factory.ButtonRow()
    button: Button = Factory.PrimaryButton(text=_("Identify customer"), size_hint_x=None)
    button.bind(texture_size=lambda b, size: setattr(b, "width", max(dp(160), size[0] + dp(32))))
    button.bind(
        on_release=lambda *_: open_sheet(card, tablet, brief.visit_id, ticket_id, visit.ticket)
    )
    card.buttons["identify"] = button
    row.add_widget(button)
    card.bar.add_widget(row, index=len(card.bar.children))  # the first row of the actions


def open_sheet(card: Widget, tablet: Any, visit_id: str, ticket_id: str, number: str) -> None:
    """Open the sheet over the card's screen for the walk-in's ticket."""
    screen = screen_of(card)
    if screen is None or sheet_on(screen) is not None:
        return
    tablet.activity()
    screen.add_widget(IdentifySheet(tablet, visit_id, ticket_id, number))


class IdentifySheet(Overlay):
    """Drawn over the work screen: what the customer shows, the number, confirm or cancel."""

    ticket = StringProperty("")
    by = StringProperty("id_number")
    hint = StringProperty("")
    ready = BooleanProperty(False)
    # The row for "Read at the desk reader" (a button another part of the app puts in
    # `ids.desk_row`); hidden until that button is there.
    desk_reader = BooleanProperty(False)

    def __init__(self, tablet: Any, visit_id: str, ticket_id: str, number: str, **kw: Any) -> None:
        self.tablet, self.visit_id, self.ticket_id = tablet, visit_id, ticket_id
        self.sent: str | None = None  # the request id on its way
        self.desks: list[str] = []  # the branch's desk ID readers, filled by the hub worker
        super().__init__(ticket=number, **kw)
        for by, title in IDENTIFIERS:
            button = Factory.IdentifyKind(text=_(title))
            button.kind = by  # a property of the kv rule: set once the rule made it
            button.bind(on_release=lambda *_, b=by: self.choose(b))
            self.ids.kinds.add_widget(button)
        self.ids.value.bind(text=self._typed)
        self.choose("id_number")
        load_desks(tablet, self.desks)
        self._watch = Clock.schedule_interval(self._check, WATCH_EVERY_S)
        Clock.schedule_once(self._focus)  # the keyboard comes up with the sheet

    def _focus(self, _dt: float) -> None:
        if self.parent is not None:
            self.ids.value.focus = True

    def buttons(self) -> dict[str, Button]:
        """The sheet's buttons by what they do."""
        found = {f"identify_kind:{b.kind}": b for b in self.ids.kinds.children}
        found |= {"identify_confirm": self.ids.confirm, "identify_cancel": self.ids.cancel}
        found |= {f"identify_desk:{i}": b for i, b in enumerate(self.ids.desk_row.children)}
        return found

    def choose(self, by: str) -> None:
        """What the customer shows: the field keeps what still fits it."""
        self.tablet.activity()
        self.by, self.hint = by, _(_HINTS[by])
        field = self.ids.value
        field.input_type = "text" if by == "id_number" else "number"  # an ID may end in X
        for button in self.ids.kinds.children:
            button.chosen = button.kind == by
        self._typed(field, field.text)

    def _typed(self, field: TextInput, text: str) -> None:
        clean = typed(self.by, text)
        if clean != text:
            field.text = clean  # comes back here once with the clean text
            return
        self.ready = self.sent is None and fits(self.by, clean)

    def send(self) -> None:
        """Send the number and take it off the screen at once."""
        value = self.ids.value.text
        self._forget()
        if self.sent is not None or not fits(self.by, value):
            return
        try:
            self.sent = identify(self.tablet, self.visit_id, self.ticket_id, self.by, value)
        except WireError:
            return  # the field only takes a number of the identifier's shape
        finally:
            value = ""
        self.ready = False

    def _offer_desks(self) -> None:
        """One "Read at the desk reader" button per desk with an ID reader."""
        self.desk_reader = True
        for desk in list(self.desks):
            label = _("Read the ID card at desk {desk}").format(desk=desk)
            button: Button = Factory.QuietButton(text=label)
            button.bind(on_release=lambda *_, d=desk: self.read_at_desk(d))
            self.ids.desk_row.add_widget(button)

    def read_at_desk(self, desk: str) -> None:
        """Ask the hub to identify with the next ID card placed on the desk's reader."""
        if self.sent is not None:
            return
        self._forget()
        self.sent = identify(self.tablet, self.visit_id, self.ticket_id, "", "", desk=desk)
        self.ready = False
        self.tablet.message = said(N_("Place the ID card on the reader at desk {desk}"), desk=desk)

    def _forget(self) -> None:
        field = self.ids.value
        field.text = ""
        field.reset_undo()  # the undo stack would keep the number
        forget_widget_caches()  # and the field's cached line textures

    def _check(self, _dt: float) -> None:
        """Close once the hub confirmed; after a refusal the field is open for another try."""
        tablet = self.tablet
        if tablet.state.session is None:
            return self.close()  # logged out: nothing of the customer stays on screen
        if self.desks and not self.desk_reader:
            self._offer_desks()
        if self.sent is None:
            return None
        visit = tablet.state.board.visits.get(self.visit_id)
        confirmed = getattr(tablet.message, "request_id", None) == self.sent
        if confirmed or (visit is not None and not visit.walk_in):
            return self.close()
        if not tablet.busy:
            self.sent = None  # refused: the status line says why
            self._typed(self.ids.value, self.ids.value.text)
        return None

    def close(self) -> None:
        """Take the sheet off the screen (and the number with it)."""
        self._watch.cancel()
        self._forget()
        self.ids.value.focus = False  # the keyboard goes with the sheet
        if self.parent is not None:
            self.parent.remove_widget(self)
