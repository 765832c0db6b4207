"""The brief card: who the customer is, what they hold, what to talk about, and the actions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from branch_hub.client import DASHBOARD_ROLES, LeadOutcome, Role
from branch_hub.client.models import Brief
from tablet import handoff_words, theme, timeline_panel, words
from tablet.booking_sheet import offer_booking
from tablet.controller import Tablet
from tablet.handoff_panel import draw_picker, picker_key
from tablet.i18n import DEFAULT_LOCALE, N_, _, language
from tablet.identify_sheet import offer_identify
from tablet.lead_card import LeadDrawer

__all__ = ["BriefCard"]


def _rm_text(brief: Brief, colleagues: Any) -> str:
    """The customer's relationship manager by name when they work here."""
    if brief.relationship_manager in colleagues:
        who = handoff_words.colleague_name(brief.relationship_manager, colleagues)
        return _("Relationship manager: {who}").format(who=who)
    return _("Has a relationship manager")


class _Owner(Protocol):
    tablet: Tablet


def _add(box: Widget, kind: str, text: str = "", **kw: Any) -> Widget:
    widget = getattr(Factory, kind)(text=text, **kw)
    box.add_widget(widget)
    return widget


class BriefCard(BoxLayout):  # type: ignore[misc]
    """One customer's brief as a card; its buttons are in `buttons` by what they do."""

    body = ObjectProperty(None)
    scroll = ObjectProperty(None)
    bar = ObjectProperty(None)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.buttons: dict[str, Button] = {}
        self.note_input: TextInput = Factory.Field()
        self.drawn: object = None
        self.owner: _Owner | None = None
        self.leads = LeadDrawer(self)

    def show(self, owner: _Owner, brief: Brief | None) -> None:
        """Draw `brief` (or the hint to pick a customer); nothing happens when it is unchanged."""
        if timeline_panel.shown_instead(self, owner, brief):
            return
        picking = picker_key(owner.tablet, brief)
        drawn = self.drawn if isinstance(self.drawn, tuple) else (None, None)
        if drawn[0] is brief and drawn[1] == picking and self.body.children:
            return
        if drawn[0] is not brief and drawn[0] is not None:
            self.leads.picking = None  # a new brief (an outcome was recorded): pickers close
        self.owner, self.drawn = owner, (brief, picking)
        self.body.clear_widgets()
        self.bar.clear_widgets()
        self.buttons = {}
        self.note_input.hint_text = _("A note for colleagues, e.g. the products asked about")
        if brief is None:
            _add(self.body, "Caption", _("Pick a customer in the list to see their brief"))
            return
        if picking is not None:
            draw_picker(self, owner.tablet, brief)
            self.scroll.scroll_y = 1
            return
        state = owner.tablet.state
        role = state.session.role if state.session else ""
        self._identity(brief)
        self._situation(brief, state.session.staff_id if state.session else None)
        me = state.session.staff_id if state.session else None
        self.leads.draw(brief, offer=role != Role.TELLER, me=me, today=date.today())
        self._holdings(brief)
        self._notes(brief)
        self._actions(brief.visit_id, manages_lobby=role in DASHBOARD_ROLES)
        offer_booking(self, owner.tablet, brief)
        offer_identify(self, owner.tablet, brief)
        self.scroll.scroll_y = 1

    def _identity(self, brief: Brief) -> None:
        top = BoxLayout(size_hint_y=None, height=dp(48), spacing=dp(theme.SPACE["m"]))
        if brief.tier is not None:
            tier = brief.tier.name_zh if language() == DEFAULT_LOCALE else None
            tier = tier or words.tier_name(brief.tier.code)
            badge = _add(top, "Chip", tier, bold=True, color=theme.ON_DARK)
            badge.fill = theme.tier_colour(brief.tier.code)
            badge.pos_hint = {"center_y": 0.5}
        who = _("Walk-in") if brief.walk_in else f"{brief.salutation_zh}  {brief.masked_name or ''}"
        _add(top, "Title", who)
        self.body.add_widget(top)
        visit = self.owner.tablet.state.board.visits.get(brief.visit_id) if self.owner else None
        line = []
        if visit is not None:
            now = datetime.now(UTC)
            line += [_("Ticket {ticket}").format(ticket=visit.ticket)]
            line += [
                words.service_name(visit.service),
                words.waited_text(visit.waiting_minutes(now)),
            ]
        if brief.aum_band:
            line.append(_("Assets {band}").format(band=brief.aum_band))
        if line:
            _add(self.body, "Caption", "  ·  ".join(p for p in line if p))

    def _situation(self, brief: Brief, me: str | None) -> None:
        if brief.attrition is not None and brief.attrition.flag:
            _add(self.body, "WarningText", words.attrition_text(brief.attrition.reason))
        if brief.segments:
            chips = Factory.ChipRow()
            for code in brief.segments:
                _add(chips, "Chip", words.segment_name(code))
            self.body.add_widget(chips)
        colleagues = self.owner.tablet.state.handoffs.colleagues if self.owner else {}
        facts = [words.claim_text(brief.claimed_by, me, handoff_words.names(colleagues))]
        if brief.relationship_manager:
            mine = brief.relationship_manager == me
            facts.append(
                _("You are their relationship manager") if mine else _rm_text(brief, colleagues)
            )
        risk = brief.risk_assessment
        if risk is not None:
            facts.append(words.risk_text(risk.level, risk.expires, risk.expired))
        for fact in filter(None, facts):
            _add(self.body, "BodyText", fact)
        for event in brief.events:
            _add(self.body, "BodyText", f"•  {event.get('text_zh', '')}")

    def _holdings(self, brief: Brief) -> None:
        products = brief.products
        held = products.to_wire() if products is not None else {}
        lines = [
            _("{category}: {products}").format(
                category=words.category_name(category),
                products=_(", ").join(map(words.product_name, codes)),
            )
            for category, codes in held.items()
            if codes
        ]
        if lines:
            _add(self.body, "Heading", _("Products held"))
            for line in lines:
                _add(self.body, "BodyText", line)
        if brief.benefits:
            _add(self.body, "Heading", _("Benefits"))
            chips = Factory.ChipRow()
            for code in brief.benefits:
                _add(chips, "Chip", words.benefit_name(code))
            self.body.add_widget(chips)

    def _notes(self, brief: Brief) -> None:
        # An outcome without a remark is already on its lead's card.
        notes = [n for n in brief.notes if n.kind != "outcome" or n.text]
        if not notes:
            return
        _add(self.body, "Heading", _("Notes from colleagues"))
        for note in notes:
            when = note.at[11:16] if len(note.at) >= 16 else ""
            names = self.owner.tablet.state.handoffs.colleagues if self.owner else {}
            who = words.role_title(note.role)
            if note.by in names:
                who = handoff_words.colleague_name(note.by, names)
            if note.kind == "handoff":
                to = (
                    words.role_title(note.to_role)
                    if note.to_role
                    else handoff_words.colleague_name(note.to_staff_id, names)
                )
                text = _("Handed to {to}").format(to=to)
                text += _(": {note}").format(note=note.text) if note.text else ""
            else:
                text = note.text
            _add(self.body, "BodyText", f"{who} {when}  {text}")

    def _actions(self, visit_id: str, *, manages_lobby: bool) -> None:
        if manages_lobby:
            row = Factory.ButtonRow()
            for key, title, press in (
                ("claim", N_("Claim customer"), lambda: self._tablet().claim(visit_id)),
                (
                    "handoff_wealth",
                    N_("To wealth manager"),
                    lambda: self._handoff(visit_id, Role.WEALTH_MANAGER),
                ),
                ("handoff_teller", N_("To teller"), lambda: self._handoff(visit_id, Role.TELLER)),
                ("handoff_pick", N_("Hand to a colleague"), lambda: self._pick(visit_id)),
            ):
                button = Factory.PrimaryButton(text=_(title), halign="center")
                # Four to a row: a long title (English on a narrow screen) wraps to two lines.
                button.bind(size=lambda b, size: setattr(b, "text_size", (size[0] - dp(8), None)))
                button.bind(on_release=lambda *_, p=press: p())
                self.buttons[key] = button
                row.add_widget(button)
            self.bar.add_widget(row)
        note_row = Factory.ButtonRow()
        if self.note_input.parent is not None:
            self.note_input.parent.remove_widget(self.note_input)
        note_row.add_widget(self.note_input)
        self.buttons["note"] = Factory.QuietButton(
            text=_("Add note"), size_hint_x=None, width=dp(140)
        )
        self.buttons["note"].bind(on_release=lambda *_: self._note(visit_id))
        note_row.add_widget(self.buttons["note"])
        self.buttons["timeline"] = timeline_panel.open_button(self._tablet(), visit_id)
        note_row.add_widget(self.buttons["timeline"])
        self.bar.add_widget(note_row)

    def _tablet(self) -> Tablet:
        if self.owner is None:
            raise RuntimeError("the brief card is not showing a brief")
        return self.owner.tablet

    def _brief_drawn(self) -> Brief | None:
        """The brief on the card now (drawn is the brief with the hand-off picker's key)."""
        return self.drawn[0] if isinstance(self.drawn, tuple) else None

    def redraw(self) -> None:
        """Draw the same brief again (a picker opened or closed), keeping the scroll position."""
        if self.owner is None:
            return
        where, brief = self.scroll.scroll_y, self._brief_drawn()
        self.drawn = None
        self.show(self.owner, brief)
        self.scroll.scroll_y = where

    def record_outcome(
        self, lead_id: str, outcome: LeadOutcome, *, reason: str | None, follow_up_on: str | None
    ) -> None:
        """Send a lead's outcome for the brief on the card."""
        brief = self._brief_drawn()
        if brief is not None:
            self._tablet().record_outcome(
                brief.visit_id, lead_id, outcome, reason=reason, follow_up_on=follow_up_on
            )

    def _note(self, visit_id: str) -> None:
        text = self.note_input.text.strip()
        if text:
            self._tablet().add_note(visit_id, text)
            self.note_input.text = ""

    def _pick(self, visit_id: str) -> None:
        self._tablet().pick_handoff(visit_id)

    def _handoff(self, visit_id: str, role: str) -> None:
        text = self.note_input.text.strip()
        self._tablet().handoff(visit_id, to_role=role, note=text or None)
        self.note_input.text = ""
