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
from tablet import theme, words
from tablet.controller import Tablet
from tablet.lead_card import LeadDrawer

__all__ = ["BriefCard"]


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
        self.note_input: TextInput = Factory.Field(hint_text="给同事留言，例如客户关注的产品")
        self.drawn: object = None
        self.owner: _Owner | None = None
        self.leads = LeadDrawer(self)

    def show(self, owner: _Owner, brief: Brief | None) -> None:
        """Draw `brief` (or the hint to pick a customer); nothing happens when it is unchanged."""
        if brief is self.drawn and self.body.children:
            return
        if brief is not self.drawn and self.drawn is not None:
            self.leads.picking = None  # a new brief (an outcome was recorded): pickers close
        self.owner, self.drawn = owner, brief
        self.body.clear_widgets()
        self.bar.clear_widgets()
        self.buttons = {}
        if brief is None:
            _add(self.body, "Caption", "请在左侧选择一位客户查看简报")
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
        self.scroll.scroll_y = 1

    def _identity(self, brief: Brief) -> None:
        top = BoxLayout(size_hint_y=None, height=dp(48), spacing=dp(theme.SPACE["m"]))
        if brief.tier is not None:
            badge = _add(top, "Chip", brief.tier.name_zh, bold=True, color=theme.ON_DARK)
            badge.fill = theme.tier_colour(brief.tier.code)
            badge.pos_hint = {"center_y": 0.5}
        who = "散客" if brief.walk_in else f"{brief.salutation_zh}  {brief.masked_name or ''}"
        _add(top, "Title", who)
        self.body.add_widget(top)
        visit = self.owner.tablet.state.board.visits.get(brief.visit_id) if self.owner else None
        line = []
        if visit is not None:
            now = datetime.now(UTC)
            line += [f"票号 {visit.ticket}", words.service_name(visit.service)]
            line.append(f"已等 {visit.waiting_minutes(now)} 分钟")
        if brief.aum_band:
            line.append(f"资产规模 {brief.aum_band}")
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
        facts = [words.claim_text(brief.claimed_by, me)]
        if brief.relationship_manager:
            mine = brief.relationship_manager == me
            facts.append("您是其专属客户经理" if mine else "已有专属客户经理")
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
            f"{words.CATEGORIES.get(category, category)}：{'、'.join(map(words.product_name, codes))}"
            for category, codes in held.items()
            if codes
        ]
        if lines:
            _add(self.body, "Heading", "持有产品")
            for line in lines:
                _add(self.body, "BodyText", line)
        if brief.benefits:
            _add(self.body, "Heading", "客户权益")
            chips = Factory.ChipRow()
            for code in brief.benefits:
                _add(chips, "Chip", words.benefit_name(code))
            self.body.add_widget(chips)

    def _notes(self, brief: Brief) -> None:
        # An outcome without a remark is already on its lead's card.
        notes = [n for n in brief.notes if n.kind != "outcome" or n.text]
        if not notes:
            return
        _add(self.body, "Heading", "同事留言")
        for note in notes:
            when = note.at[11:16] if len(note.at) >= 16 else ""
            who = words.role_title(note.role)
            if note.kind == "handoff":
                text = f"转交给{words.role_title(note.to_role) if note.to_role else '同事'}"
                text += f"：{note.text}" if note.text else ""
            else:
                text = note.text
            _add(self.body, "BodyText", f"{who} {when}  {text}")

    def _actions(self, visit_id: str, *, manages_lobby: bool) -> None:
        if manages_lobby:
            row = Factory.ButtonRow()
            for key, title, press in (
                ("claim", "认领客户", lambda: self._tablet().claim(visit_id)),
                (
                    "handoff_wealth",
                    "转理财经理",
                    lambda: self._handoff(visit_id, Role.WEALTH_MANAGER),
                ),
                ("handoff_teller", "转柜员", lambda: self._handoff(visit_id, Role.TELLER)),
            ):
                button = Factory.PrimaryButton(text=title)
                button.bind(on_release=lambda *_, p=press: p())
                self.buttons[key] = button
                row.add_widget(button)
            self.bar.add_widget(row)
        note_row = Factory.ButtonRow()
        if self.note_input.parent is not None:
            self.note_input.parent.remove_widget(self.note_input)
        note_row.add_widget(self.note_input)
        self.buttons["note"] = Factory.QuietButton(text="留言", size_hint_x=None, width=dp(140))
        self.buttons["note"].bind(on_release=lambda *_: self._note(visit_id))
        note_row.add_widget(self.buttons["note"])
        self.bar.add_widget(note_row)

    def _tablet(self) -> Tablet:
        if self.owner is None:
            raise RuntimeError("the brief card is not showing a brief")
        return self.owner.tablet

    def redraw(self) -> None:
        """Draw the same brief again (a picker opened or closed), keeping the scroll position."""
        if self.owner is None:
            return
        where, brief = self.scroll.scroll_y, self.drawn
        self.drawn = None
        self.show(self.owner, brief if isinstance(brief, Brief) else None)
        self.scroll.scroll_y = where

    def record_outcome(
        self, lead_id: str, outcome: LeadOutcome, *, reason: str | None, follow_up_on: str | None
    ) -> None:
        """Send a lead's outcome for the brief on the card."""
        if isinstance(self.drawn, Brief):
            self._tablet().record_outcome(
                self.drawn.visit_id, lead_id, outcome, reason=reason, follow_up_on=follow_up_on
            )

    def _note(self, visit_id: str) -> None:
        text = self.note_input.text.strip()
        if text:
            self._tablet().add_note(visit_id, text)
            self.note_input.text = ""

    def _handoff(self, visit_id: str, role: str) -> None:
        text = self.note_input.text.strip()
        self._tablet().handoff(visit_id, to_role=role, note=text or None)
        self.note_input.text = ""
