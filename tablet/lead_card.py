"""The brief card's leads: ranked, with talking points and outcome buttons; declined ones held back.

Declining opens a reason picker and a follow-up a date picker, both in place under the lead;
a lead the customer declined recently is listed apart, muted and without buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any, Protocol

from kivy.factory import Factory
from kivy.metrics import dp
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from branch_hub.client import DeclineReason, LeadOutcome
from branch_hub.client.models import Brief, BriefLead, HeldBackLead
from tablet import catalogue_words, lead_words, theme
from tablet.i18n import _

__all__ = ["LeadDrawer"]


class _Card(Protocol):
    body: Any
    buttons: dict[str, Button]

    def redraw(self) -> None: ...

    def record_outcome(
        self, lead_id: str, outcome: LeadOutcome, *, reason: str | None, follow_up_on: str | None
    ) -> None: ...


def _add(box: Widget, kind: str, text: str = "", **kw: Any) -> Widget:
    widget = getattr(Factory, kind)(text=text, **kw)
    box.add_widget(widget)
    return widget


def _grid() -> GridLayout:
    grid = GridLayout(cols=2, size_hint_y=None, spacing=dp(theme.SPACE["s"]))
    grid.row_force_default, grid.row_default_height = True, dp(theme.BUTTON_H)
    grid.bind(minimum_height=grid.setter("height"))
    return grid


class LeadDrawer:
    """Draws a brief's leads into the card; remembers which lead has its picker open."""

    def __init__(self, card: _Card) -> None:
        self.card = card
        self.picking: tuple[str, LeadOutcome] | None = None  # (lead id, declined | follow_up)
        self.brief: Brief | None = None

    def draw(self, brief: Brief, *, offer: bool, me: str | None, today: date) -> None:
        """The offered leads (best score first), then those not to re-pitch."""
        self.brief = brief
        for lead in brief.leads:
            self._lead(lead, offer=offer, me=me, today=today)
        if brief.do_not_repitch:
            _add(self.card.body, "Heading", _("Declined recently: do not re-pitch"))
            for held in brief.do_not_repitch:
                self._held_back(held)

    def _lead(self, lead: BriefLead, *, offer: bool, me: str | None, today: date) -> None:
        body = self.card.body
        _add(body, "Heading", _("Lead: {product}").format(product=lead.product))
        chips = Factory.ChipRow()
        band = lead_words.score_band(lead.score)
        _add(chips, "Chip", _("Score {band}").format(band=band), bold=True)
        body.add_widget(chips)
        held = lead.not_suitable_reason is not None
        if held:  # the hub found no product of the lead the customer may buy: do not pitch it
            flag = catalogue_words.Flag(str(lead.not_suitable_reason)).text
            _add(body, "BodyText", _("Do not pitch: {why}").format(why=flag), bold=True)
        for product in lead.products:
            shown = catalogue_words.Flag(str(product.suitability)).text
            risk = f" {product.risk}" if product.risk else ""
            _add(body, "Caption", f"{product.name_zh}{risk} · {shown}")
        for point in () if held else lead.talking_points:
            _add(body, "BodyText", f"·  {point}")
        row = Factory.ButtonRow()
        self._button(
            row, f"product:{lead.lead_id}", _("View product"), partial(self._product, lead)
        )
        row.add_widget(Widget())
        body.add_widget(row)
        if lead.recorded is not None:
            _add(body, "Caption", lead_words.recorded_line(lead.recorded, me))
        elif lead.outcome is not None:
            what = _(lead_words.RECORDED[lead.outcome])
            _add(body, "Caption", _("Recorded: {outcome}").format(outcome=what))
        if not offer:
            return
        if self.picking == (lead.lead_id, LeadOutcome.DECLINED):
            self._reasons(lead.lead_id)
        elif self.picking == (lead.lead_id, LeadOutcome.FOLLOW_UP):
            self._dates(lead.lead_id, today)
        else:
            self._outcomes(lead.lead_id, held)

    def _button(self, box: Widget, key: str, title: str, press: Callable[[], None]) -> None:
        button = Factory.QuietButton(text=title)
        button.bind(on_release=lambda *_: press())
        self.card.buttons[key] = button
        box.add_widget(button)

    def _product(self, lead: BriefLead) -> None:
        """The lead's product on its own screen, the talking points beside it."""
        from tablet.catalogue_nav import open_lead_product

        owner = getattr(self.card, "owner", None)
        if owner is not None and self.brief is not None:
            open_lead_product(owner, self.brief, lead)

    def _outcomes(self, lead_id: str, held: bool = False) -> None:
        row = Factory.ButtonRow()
        # An unsuitable lead can only be recorded as such (the hub refuses the rest).
        offered = lead_words.UNSUITABLE_OUTCOMES if held else lead_words.OFFERED_OUTCOMES
        for outcome, title in offered:
            key = f"outcome:{lead_id}:{outcome}"
            self._button(row, key, _(title), partial(self._chose, lead_id, outcome))
        self.card.body.add_widget(row)

    def _chose(self, lead_id: str, outcome: LeadOutcome) -> None:
        if outcome in (LeadOutcome.DECLINED, LeadOutcome.FOLLOW_UP):
            self.picking = (lead_id, outcome)
            self.card.redraw()
            return
        self._send(lead_id, outcome)

    def _send(
        self,
        lead_id: str,
        outcome: LeadOutcome,
        reason: str | None = None,
        follow_up_on: str | None = None,
    ) -> None:
        self.picking = None
        self.card.record_outcome(lead_id, outcome, reason=reason, follow_up_on=follow_up_on)

    def _cancel(self) -> None:
        self.picking = None
        self.card.redraw()

    def _reasons(self, lead_id: str) -> None:
        _add(self.card.body, "BodyText", _("Why did the customer decline?"), bold=True)
        grid = _grid()
        for reason in DeclineReason:
            title = lead_words.reason_name(reason)
            press = partial(self._send, lead_id, LeadOutcome.DECLINED, reason=reason)
            self._button(grid, f"reason:{lead_id}:{reason}", title, press)
        self._button(grid, f"cancel:{lead_id}", _("Cancel"), self._cancel)
        self.card.body.add_widget(grid)

    def _dates(self, lead_id: str, today: date) -> None:
        _add(self.card.body, "BodyText", _("When to follow up?"), bold=True)
        grid = _grid()
        for days in lead_words.FOLLOW_UP_DAYS:
            title, day = lead_words.follow_up_choice(days, today)
            press = partial(self._send, lead_id, LeadOutcome.FOLLOW_UP, follow_up_on=day)
            self._button(grid, f"follow_up:{lead_id}:{days}", title, press)
        self._button(grid, f"cancel:{lead_id}", _("Cancel"), self._cancel)
        self.card.body.add_widget(grid)

    def _held_back(self, held: HeldBackLead) -> None:
        band = lead_words.score_band(held.score)
        _add(self.card.body, "Caption", f"{held.product}（{_('Score {band}').format(band=band)}）")
        _add(self.card.body, "Caption", lead_words.held_back_line(held))
