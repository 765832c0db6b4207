"""The teller's counter: the customer being served, the parked tickets and the queue's buttons.

`CounterWork` is mixed into the counter screen (tablet.screens); the brief card below it shows
the served customer under the teller's redaction, and the counter lead's outcome buttons here
finish the ticket with the outcome in one tap.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from kivy.factory import Factory
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.button import Button

from branch_hub.client import LeadOutcome
from branch_hub.client.models import Brief, BriefLead
from tablet import counter_work, words
from tablet.i18n import N_, _
from tablet.overlay import overlay_on
from tablet.state import Arrival
from tablet.transfer_picker import TransferPicker

__all__ = ["LABELS", "CounterWork", "counter_name"]

LABELS = {
    "call_next": N_("Call next"),
    "recall": N_("Call again"),
    "no_show": N_("No-show"),
    "park": N_("Park"),
    "transfer": N_("Transfer…"),
    "finish": N_("Finish"),
    "parked": N_("Parked here"),
}
_FINISH_OUTCOMES = (
    (LeadOutcome.ACCEPTED, N_("Accepted")),
    (LeadOutcome.FOLLOW_UP, N_("Follow up")),
    (LeadOutcome.DECLINED, N_("Declined")),
)
_DIGITS = re.compile(r"\d+")


def counter_name(counter_id: str, brief_names: dict[str, str]) -> str:
    """The counter as the branch names it (1号窗口); from its id's number until the hub says."""
    if counter_id in brief_names:
        return brief_names[counter_id]
    number = _DIGITS.search(counter_id)
    return _("Counter {number}").format(number=number.group() if number else counter_id)


def counter_lead(brief: Brief | None) -> BriefLead | None:
    """The first lead of the served customer with no outcome yet that the hub found suitable."""
    if brief is None:
        return None
    return next(
        (lead for lead in brief.leads if lead.outcome is None and lead.not_suitable_reason is None),
        None,
    )


class CounterWork:
    """The counter screen's own behaviour (mixed into its WorkScreen)."""

    serving_text = StringProperty("")
    serving_detail = StringProperty("")
    counter_text = StringProperty("")
    lead_text = StringProperty("")
    parked_count = NumericProperty(0)
    resume_buttons: dict[str, Button]
    outcome_buttons: dict[str, Button]
    _parked_drawn: tuple[tuple[str, str, str], ...]
    _lead_drawn: tuple[str, str] | None
    waiting_heading = StringProperty("")
    view: Any
    ids: Any

    def label(self, key: str) -> str:
        """A button's or heading's text in the language shown."""
        return _(LABELS[key])

    def counter_id(self) -> str:
        """This device's counter (set when the counter device is installed)."""
        return str(self.view.tablet.store.settings().get("counter", "C1"))

    def on_pre_enter(self, *_: Any) -> None:
        """Ask the hub for the counters' names and the transfer targets."""
        counter_work.load_targets(self.view.tablet)

    def on_leave(self, *_: Any) -> None:
        """Leaving the screen (logout, lost link): no customer's name or ticket stays drawn."""
        self._close_picker()
        for box in (self.ids.parked, self.ids.outcomes):
            box.clear_widgets()
        self._parked_drawn, self._lead_drawn = (), None
        self.resume_buttons, self.outcome_buttons = {}, {}
        self.serving_text = self.serving_detail = self.lead_text = ""

    def buttons(self) -> dict[str, Button]:
        """The screen's buttons, the parked tickets' and the picker's when it is open."""
        found: dict[str, Button] = super().buttons()  # type: ignore[misc]
        found |= getattr(self, "resume_buttons", {}) | getattr(self, "outcome_buttons", {})
        picker = self._picker()
        return found | picker.buttons if picker is not None else found

    def visits(self) -> list[Arrival]:
        """The waiting list, without the tickets parked (they have their own list)."""
        waiting: list[Arrival] = self.view.tablet.state.board.waiting()
        return [v for v in waiting if v.state != "parked"]

    def refresh(self) -> None:
        """The counter, the ticket being served, the parked tickets, then the list and brief."""
        state = self.view.tablet.state
        names = {c.counter_id: c.name_zh for c in state.targets.counters} if state.targets else {}
        self.counter_text = counter_name(self.counter_id(), names)
        self._serving()
        self._parked()
        self._finish_outcomes(counter_lead(state.brief) if state.serving else None)
        picker = self._picker()
        if picker is not None:
            picker.show(state.targets)
        super().refresh()  # type: ignore[misc]
        count = len(self.visit_list.data)  # type: ignore[attr-defined]
        self.waiting_heading = _("Waiting ({count})").format(count=count)

    def _serving(self) -> None:
        state = self.view.tablet.state
        serving = state.serving
        if serving is None:
            self.serving_text = _("Free: call the next customer")
            self.serving_detail = ""
            return
        brief = state.brief if state.brief and state.brief.visit_id == serving.visit_id else None
        who = _("Walk-in customer")
        if brief is not None and not brief.walk_in:
            who = f"{brief.salutation_zh} {brief.masked_name or ''}".strip()
        self.serving_text = _("Serving {ticket}  {who}").format(ticket=serving.number, who=who)
        parts = [words.service_name(serving.service)]
        visit = state.board.visits.get(serving.visit_id or "")
        if visit is not None:
            minutes = visit.waiting_minutes(datetime.now(UTC))
            parts.append(_("waited {minutes} min").format(minutes=minutes))
        if brief is not None and brief.tier is not None:
            parts.insert(0, brief.tier.name_zh)
        self.serving_detail = "  ·  ".join(p for p in parts if p)

    def _parked(self) -> None:
        """The tickets parked at this counter, each with Resume (redrawn only when they change)."""
        mine = self.counter_id()
        parked = tuple(
            (str(v.ticket_id), v.ticket, v.salutation_zh or _("Walk-in customer"))
            for v in self.view.tablet.state.board.visits.values()
            if v.state == "parked" and v.counter_id == mine and v.ticket_id
        )
        self.parked_count = len(parked)
        if parked == getattr(self, "_parked_drawn", None):
            return
        self._parked_drawn = parked
        box, self.resume_buttons = self.ids.parked, {}
        box.clear_widgets()
        for ticket_id, number, who in parked:
            row = Factory.ButtonRow()
            row.add_widget(Factory.BodyText(text=f"{number}  {who}", size_hint_y=1))
            button = Factory.QuietButton(text=_("Resume"), size_hint_x=0.4)
            button.bind(on_release=lambda *_, t=ticket_id: self.resume(t))
            self.resume_buttons[f"resume:{ticket_id}"] = button
            row.add_widget(button)
            box.add_widget(row)

    def _finish_outcomes(self, lead: BriefLead | None) -> None:
        """One tap to finish and record the counter lead (redrawn only when the lead changes)."""
        brief = self.view.tablet.state.brief
        drawn = (brief.visit_id, lead.lead_id) if lead is not None and brief is not None else None
        if drawn == getattr(self, "_lead_drawn", ()):
            return
        self._lead_drawn = drawn
        box, self.outcome_buttons = self.ids.outcomes, {}
        box.clear_widgets()
        if lead is None or drawn is None:
            self.lead_text = ""
            return
        self.lead_text = _("Finish and record {product}:").format(product=lead.product)
        row = Factory.ButtonRow()
        tablet, (visit_id, lead_id) = self.view.tablet, drawn
        for outcome, title in _FINISH_OUTCOMES:
            button = Factory.QuietButton(text=_(title))
            button.bind(
                on_release=lambda *_, o=outcome: counter_work.finish_with_outcome(
                    tablet, visit_id, lead_id, o
                )
            )
            self.outcome_buttons[f"finish:{outcome}"] = button
            row.add_widget(button)
        box.add_widget(row)

    # -- the buttons -----------------------------------------------------------------------
    def call_next(self) -> None:
        """Call the next ticket to this counter."""
        self.view.tablet.call_next(self.counter_id())

    def ticket_op(self, op: str) -> None:
        """Recall, no-show, park or finish the ticket being served."""
        self.view.tablet.ticket_op(op)

    def resume(self, ticket_id: str) -> None:
        """Serve a parked ticket here again."""
        counter_work.resume(self.view.tablet, ticket_id, self.counter_id())

    def open_transfer(self) -> None:
        """Open the picker of where the ticket being served goes next."""
        tablet = self.view.tablet
        serving = tablet.state.serving
        if serving is None or self._picker() is not None:
            return
        counter_work.load_targets(tablet)
        picker = TransferPicker(
            serving.number,
            serving.service,
            self.counter_id(),
            lambda service, counter: counter_work.transfer(tablet, service, counter),
            self._close_picker,
        )
        self.add_widget(picker)  # type: ignore[attr-defined]
        picker.show(tablet.state.targets)

    def _picker(self) -> TransferPicker | None:
        return overlay_on(self, TransferPicker)

    def _close_picker(self) -> None:
        picker = self._picker()
        if picker is not None:
            self.remove_widget(picker)  # type: ignore[attr-defined]
