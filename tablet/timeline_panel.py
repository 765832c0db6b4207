"""The timeline in the brief card: this visit, then earlier visits by date, entries newest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.widget import Widget

from branch_hub.client import LeadOutcome, TimelineKind
from branch_hub.client.i18n import format_date
from branch_hub.client.models import Brief, TimelineEntry, TimelineVisit, VisitTimeline
from tablet import words
from tablet.controller import Tablet
from tablet.i18n import N_, _, language
from tablet.timeline import close_timeline, open_timeline

__all__ = ["TimelineRow", "TimelineView", "open_button", "shown_instead"]

_OUTCOMES = {
    LeadOutcome.ACCEPTED: N_("customer accepted"),
    LeadOutcome.FOLLOW_UP: N_("follow up later"),
    LeadOutcome.DECLINED: N_("customer declined"),
    LeadOutcome.NOT_INTERESTED: N_("not interested"),
}


class _Owner(Protocol):
    tablet: Tablet


class TimelineRow(BoxLayout):  # type: ignore[misc]
    """One entry: when, who (name and role title) and what."""

    who = StringProperty("")
    what = StringProperty("")
    colleague = BooleanProperty(True)


def _who(entry: TimelineEntry) -> str:
    if entry.by is None:
        queue = _("Queue")
        return f"{entry.clock}  {queue}"
    name = entry.name or _("Colleague")
    return f"{entry.clock}  {name} · {words.role_title(entry.role)}"


def _handed_to(entry: TimelineEntry) -> str:
    if entry.to_name:
        return f"{entry.to_name}（{words.role_title(entry.to_role)}）"
    return words.role_title(entry.to_role)


def _what(entry: TimelineEntry) -> str:
    kind = entry.kind
    if kind is TimelineKind.CLAIM:
        return _("Claimed the customer")
    if kind is TimelineKind.NOTE:
        if entry.for_role:
            for_role = words.role_title(entry.for_role)
            return _("For {role} only: {text}").format(role=for_role, text=entry.text)
        return entry.text
    if kind is TimelineKind.HANDOFF:
        said = _("Handed over to {who}").format(who=_handed_to(entry))
        return f"{said}：{entry.text}" if entry.text else said
    if kind is TimelineKind.OUTCOME:
        outcome = _(_OUTCOMES[entry.outcome]) if entry.outcome in _OUTCOMES else ""
        said = _("Lead {product}: {outcome}").format(product=entry.product or "", outcome=outcome)
        return f"{said}；{entry.text}" if entry.text else said
    if kind is TimelineKind.CALLED:
        if entry.counter_number is None:
            return _("Called to a counter")
        return _("Called to counter {number}").format(number=entry.counter_number)
    return _("Service finished")


def _heading(visit: TimelineVisit) -> str:
    title = (
        _("This visit") if visit.current else format_date(date.fromisoformat(visit.day), language())
    )
    return f"{title}  ·  {visit.ticket}" if visit.ticket else title


class TimelineView(BoxLayout):  # type: ignore[misc]
    """Colleagues in one timeline; drawn again only when another timeline arrives."""

    entries = ObjectProperty(None)
    scroll = ObjectProperty(None)
    close_button = ObjectProperty(None)
    title_text = StringProperty("")
    close_text = StringProperty("")

    def __init__(self, on_close: Callable[[], None], **kw: Any) -> None:
        super().__init__(**kw)
        self.on_close = on_close
        self.drawn: VisitTimeline | None = None
        self.replaced: Widget | None = None  # the brief's panel while the timeline shows
        self.title_text = _("Colleagues' timeline")
        self.close_text = _("Back to the brief")

    def close(self) -> None:
        """Back to the brief."""
        self.on_close()

    def show(self, timeline: VisitTimeline | None) -> None:
        """Draw `timeline` (a waiting line until it arrives)."""
        if timeline is self.drawn and self.entries.children:
            return
        self.drawn = timeline
        self.entries.clear_widgets()
        if timeline is None:
            self.entries.add_widget(Factory.Caption(text=_("Loading the timeline…")))
            return
        for visit in timeline.visits:
            self.entries.add_widget(Factory.Heading(text=_heading(visit)))
            if not visit.entries:
                self.entries.add_widget(Factory.Caption(text=_("Nothing recorded yet")))
            for entry in visit.entries:
                row = TimelineRow(
                    who=_who(entry), what=_what(entry), colleague=entry.by is not None
                )
                self.entries.add_widget(row)
        self.scroll.scroll_y = 1


def open_button(tablet: Tablet, visit_id: str) -> Button:
    """The brief card's button that shows the visit's timeline."""
    button: Button = Factory.QuietButton(text=_("Timeline"), size_hint_x=None, width=dp(160))
    button.bind(on_release=lambda *_: open_timeline(tablet, visit_id))
    return button


def shown_instead(card: Any, owner: _Owner, brief: Brief | None) -> bool:
    """Show the timeline in place of the brief when it is open for this brief; say if it is."""
    state = owner.tablet.state
    wanted = brief is not None and state.timeline_for == brief.visit_id
    view: TimelineView | None = getattr(card, "timeline_view", None)
    if view is None:
        if not wanted:
            return False
        view = TimelineView(lambda: close_timeline(state))
        card.timeline_view = view
    panel = card.scroll.parent
    if wanted and view.parent is None:
        at = card.children.index(panel)
        card.remove_widget(panel)
        card.add_widget(view, index=at)
        view.replaced = panel
    elif not wanted and view.parent is card and view.replaced is not None:
        at = card.children.index(view)
        card.remove_widget(view)
        card.add_widget(view.replaced, index=at)
        card.buttons.pop("timeline_close", None)
        view.drawn = None
        return False
    if not wanted:
        return False
    view.show(state.timeline)
    card.buttons["timeline_close"] = view.close_button
    return True
