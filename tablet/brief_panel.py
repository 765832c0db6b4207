"""The brief panel: who the customer is, the leads to talk about, colleagues' notes, and actions."""

from __future__ import annotations

from typing import Protocol

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.textinput import TextInput

from branch_hub.client import DASHBOARD_ROLES, LeadOutcome, Role
from branch_hub.client.models import Brief, BriefLead
from tablet.controller import Tablet
from tablet.widgets import make_button, make_label


class TabletView(Protocol):
    """The parts of the tablet's window the brief panel draws into (`tablet.app.TabletView`)."""

    tablet: Tablet
    brief_box: BoxLayout
    buttons: dict[str, Button]
    inputs: dict[str, TextInput]


__all__ = ["draw_brief"]

_LEAD_OUTCOMES = (
    (LeadOutcome.ACCEPTED, "接受"),
    (LeadOutcome.FOLLOW_UP, "跟进"),
    (LeadOutcome.DECLINED, "拒绝"),
)


def draw_brief(view: TabletView, brief: Brief) -> None:
    """Lay out a brief in the view's brief box, with the buttons the user's role may press."""
    box = view.brief_box
    tier = brief.tier
    title = f"{brief.salutation_zh or '散客'}  {brief.masked_name or ''}"
    box.add_widget(make_label(title, bold=True, font_size=22, size_hint_y=None, height=36))
    tier_line = f"{tier.name_zh} {tier.name_en}" if tier else " "
    if brief.aum_band:
        tier_line += f"   资产 {brief.aum_band}"
    if brief.claimed_by:
        tier_line += f"   认领 {brief.claimed_by}"
    box.add_widget(make_label(tier_line, size_hint_y=None, height=30))
    for event in brief.events:
        box.add_widget(make_label(f"• {event.get('text_zh', '')}", size_hint_y=None, height=26))
    role = view.tablet.state.session.role if view.tablet.state.session else ""
    for lead in brief.leads:
        _draw_lead(view, brief.visit_id, lead, offer_outcomes=role != Role.TELLER)
    for note in brief.notes:
        box.add_widget(make_label(f"备注 {note.by}: {note.text}", size_hint_y=None, height=26))
    _draw_actions(view, brief.visit_id, manages_lobby=role in DASHBOARD_ROLES)
    box.add_widget(make_label(""))


def _draw_lead(view: TabletView, visit_id: str, lead: BriefLead, *, offer_outcomes: bool) -> None:
    points = "；".join(lead.talking_points)
    view.brief_box.add_widget(
        make_label(f"◆ {lead.product} ({lead.score})  {points}", size_hint_y=None, height=44)
    )
    if not offer_outcomes:
        return
    row = BoxLayout(size_hint_y=None, height=36, spacing=4)
    lead_id = lead.lead_id
    for outcome, title in _LEAD_OUTCOMES:
        pressed = make_button(
            title,
            on_release=lambda *_, o=outcome, lid=lead_id: view.tablet.record_outcome(
                visit_id, lid, o
            ),
        )
        view.buttons[f"outcome:{lead_id}:{outcome}"] = pressed
        row.add_widget(pressed)
    view.brief_box.add_widget(row)


def _draw_actions(view: TabletView, visit_id: str, *, manages_lobby: bool) -> None:
    actions = BoxLayout(size_hint_y=None, height=44, spacing=4)
    if manages_lobby:
        view.buttons["claim"] = make_button(
            "认领 Claim", on_release=lambda *_: view.tablet.claim(visit_id)
        )
        actions.add_widget(view.buttons["claim"])
    note_box = view.inputs.get("note") or TextInput(multiline=False, font_size=18)
    view.inputs["note"] = note_box
    if note_box.parent is not None:
        note_box.parent.remove_widget(note_box)
    view.buttons["note"] = make_button("备注 Note", on_release=lambda *_: _note(view, visit_id))
    if manages_lobby:
        view.buttons["handoff_wealth"] = make_button(
            "转理财 → wealth",
            on_release=lambda *_: _handoff(view, visit_id, Role.WEALTH_MANAGER),
        )
        view.buttons["handoff_teller"] = make_button(
            "转柜员 → teller", on_release=lambda *_: _handoff(view, visit_id, Role.TELLER)
        )
        actions.add_widget(view.buttons["handoff_wealth"])
        actions.add_widget(view.buttons["handoff_teller"])
    view.brief_box.add_widget(actions)
    note_row = BoxLayout(size_hint_y=None, height=40, spacing=4)
    note_row.add_widget(note_box)
    note_row.add_widget(view.buttons["note"])
    view.brief_box.add_widget(note_row)


def _note(view: TabletView, visit_id: str) -> None:
    text = view.inputs["note"].text.strip()
    if text:
        view.tablet.add_note(visit_id, text)
        view.inputs["note"].text = ""


def _handoff(view: TabletView, visit_id: str, role: str) -> None:
    text = view.inputs["note"].text.strip()
    view.tablet.handoff(visit_id, to_role=role, note=text or None)
    view.inputs["note"].text = ""
