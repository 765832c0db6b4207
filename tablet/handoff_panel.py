"""The hand-off picker (in the brief card) and the receiver's banner with its Accept button.

The picker lists on-duty colleagues by role with names and role titles, the customer's own
relationship manager first (on duty or not: they are alerted either way), and the place the
customer was taken. The banner shows a hand-off to me (by whom, where, the note) or one of my
customers' arrival.
"""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.widget import Widget

from branch_hub.client import Role
from branch_hub.client.models import Brief, StaffMember
from tablet import theme
from tablet.controller import Tablet
from tablet.handoff_words import LOCATIONS, alert_text, location_name, offer_text
from tablet.i18n import _
from tablet.words import role_title

__all__ = ["OfferBar", "draw_picker", "picker_key"]

_ROLE_ORDER: tuple[Role, ...] = (Role.WEALTH_MANAGER, Role.ACCOUNT_MANAGER, Role.LOBBY_MANAGER)
_ROLE_ORDER += (Role.TELLER, Role.BRANCH_ADMIN)
_PER_ROW = 3


def picker_key(tablet: Tablet, brief: Brief | None) -> tuple[Any, ...] | None:
    """What the picker shows (None: the brief, not the picker)."""
    memory = tablet.state.handoffs
    if brief is None or memory.picking != brief.visit_id:
        return None
    return (brief.visit_id, memory.location, id(memory.colleagues))


def _button(box: Widget, buttons: dict[str, Button], key: str, text: str, **kw: Any) -> Button:
    kind = "PrimaryButton" if kw.pop("strong", False) else "QuietButton"
    button: Button = getattr(Factory, kind)(text=text, **kw)
    buttons[key] = button
    box.add_widget(button)
    return button


def _rows(body: Widget, people: list[StaffMember], pick: Any, buttons: dict[str, Button]) -> None:
    for start in range(0, len(people), _PER_ROW):
        row = Factory.ButtonRow()
        for member in people[start : start + _PER_ROW]:
            text = f"{member.name} · {role_title(member.role)}"
            button = _button(row, buttons, f"to:{member.staff_id}", text)
            button.bind(on_release=lambda *_, m=member: pick(m.staff_id))
        for _gap in range(_PER_ROW - len(people[start : start + _PER_ROW])):
            row.add_widget(Widget())
        body.add_widget(row)


def draw_picker(card: Any, tablet: Tablet, brief: Brief) -> None:
    """Draw the picker into the brief card's body and bar (buttons into `card.buttons`)."""
    memory, body, buttons = tablet.state.handoffs, card.body, card.buttons
    me = tablet.state.session.staff_id if tablet.state.session else ""
    who = brief.salutation_zh or _("Walk-in")
    body.add_widget(Factory.Title(text=_("Hand {who} to a colleague").format(who=who)))
    body.add_widget(Factory.Heading(text=_("Where is the customer now?")))
    places = Factory.ButtonRow()
    for code in LOCATIONS:
        chosen = memory.location == code
        button = _button(places, buttons, f"loc:{code}", location_name(code), strong=chosen)
        button.bind(on_release=lambda *_, c=code: tablet.choose_location(c))
    body.add_widget(places)

    def pick(staff_id: str) -> None:
        note = card.note_input.text.strip() or None
        card.note_input.text = ""
        tablet.handoff(brief.visit_id, to_staff_id=staff_id, note=note, location=memory.location)

    colleagues = [m for m in memory.colleagues.values() if m.staff_id != me]
    own = [m for m in colleagues if m.staff_id == brief.relationship_manager]
    if own:
        body.add_widget(Factory.Heading(text=_("The customer's own manager")))
        _rows(body, own, pick, buttons)
        if not own[0].on_duty:
            body.add_widget(Factory.Caption(text=_("Not on a tablet now; alerted all the same")))
    on_duty = [m for m in colleagues if m.on_duty and m not in own]
    for role in _ROLE_ORDER:
        people = [m for m in on_duty if m.role == role]
        if people:
            body.add_widget(Factory.Heading(text=role_title(role)))
            _rows(body, people, pick, buttons)
    if not memory.colleagues:
        body.add_widget(Factory.Caption(text=_("Loading colleagues…")))
    elif not own and not on_duty:
        body.add_widget(Factory.Caption(text=_("No colleague is on duty now")))
    row = Factory.ButtonRow()
    if card.note_input.parent is not None:
        card.note_input.parent.remove_widget(card.note_input)
    row.add_widget(card.note_input)  # the note goes with the hand-off
    cancel = _button(row, buttons, "handoff_cancel", _("Cancel"), size_hint_x=None)
    cancel.width = dp(140)
    cancel.bind(on_release=lambda *_: tablet.pick_handoff(None))
    card.bar.add_widget(row)


class OfferBar(BoxLayout):  # type: ignore[misc]
    """The banner of a hand-off to me (Accept) or of my customer's arrival (Dismiss)."""

    text = StringProperty("")

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.buttons: dict[str, Button] = {}
        self._shown: tuple[Any, ...] | None = None

    def show(self, tablet: Tablet) -> None:
        """Draw the newest offer, else the oldest alert, else nothing."""
        state = tablet.state
        memory = state.handoffs
        offer = next(reversed(memory.offers.values()), None)
        alert = next(iter(memory.alerts.values()), None)
        brief = state.brief
        if offer is not None:
            note = _handoff_note(brief, offer.visit_id)
            visit = state.board.visits.get(offer.visit_id)
            shown: tuple[Any, ...] = ("offer", offer, note, id(memory.colleagues), visit)
            text = offer_text(offer, memory.colleagues, visit, note)
            key, title, act = "accept_handoff", _("Accept"), tablet.accept_handoff
            visit_id = offer.visit_id
        elif alert is not None:
            shown, text = ("alert", alert), alert_text(alert)
            key, title, act, visit_id = (
                "dismiss_alert",
                _("Got it"),
                tablet.dismiss_alert,
                alert.visit_id,
            )
        else:
            shown, text, key = ("none",), "", ""
        if shown == self._shown:
            return
        self._shown, self.text = shown, text
        self.clear_widgets()
        self.buttons = {}
        self.height = dp(theme.BUTTON_H + 2 * theme.SPACE["s"]) if text else 0
        self.opacity = 1 if text else 0
        if not text:
            return
        self.add_widget(Factory.OfferText(text=text))
        button = Factory.PrimaryButton(text=title, size_hint_x=None, width=dp(140))
        button.bind(on_release=lambda *_: act(visit_id))
        self.buttons[key] = button
        self.add_widget(button)


def _handoff_note(brief: Brief | None, visit_id: str) -> str | None:
    """The note of the visit's latest hand-off, when its brief is open."""
    if brief is None or brief.visit_id != visit_id:
        return None
    notes = [n for n in brief.notes if n.kind == "handoff"]
    return notes[-1].text if notes and notes[-1].text else None
