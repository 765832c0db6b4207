"""One product drawn as a column of facts (compare and presentation), and the staff gesture.

`ProductColumn.show(facts, ...)` fills the column with the kv classes of tablet/kv/compare.kv;
the presentation draws the same column in larger type and without the eligibility lines (which
read like customer tags). `StaffGesture` is the presentation's way out without a PIN.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kivy.factory import Factory
from kivy.metrics import sp
from kivy.properties import ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from tablet import theme
from tablet.i18n import _
from tablet.product_facts import ProductFacts

__all__ = ["ProductColumn", "RiskBadge", "StaffCorner", "StaffGesture"]


class RiskBadge(Label):  # type: ignore[misc]
    """A product's risk level in white on the level's colour (theme.RISK_COLOURS)."""

    fill = ListProperty(list(theme.NAVY))


def _rows(facts: ProductFacts, eligibility: bool) -> list[tuple[str, str]]:
    rows = [
        (_("Term"), facts.term),
        (_("Yield"), facts.yield_line),
        (_("Minimum amount"), facts.minimum),
    ]
    if eligibility:
        rows.append((_("For customers"), facts.tiers))
        if facts.segments:
            rows.append((_("Suited to"), facts.segments))
    rows.append((_("Sale period"), facts.valid))
    return rows


class ProductColumn(BoxLayout):  # type: ignore[misc]
    """One product's facts from top to bottom; its look is in kv/compare.kv."""

    code = StringProperty("")

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.buttons: dict[str, Button] = {}

    def _text(self, kind: str, text: str, size: int, **kw: Any) -> None:
        label = getattr(Factory, kind)(text=text, font_size=sp(size))
        for name, value in kw.items():  # kv-declared properties cannot go through __init__
            setattr(label, name, value)
        self.add_widget(label)

    def show(
        self,
        facts: ProductFacts,
        *,
        big: bool = False,
        eligibility: bool = True,
        remove: Callable[[str], None] | None = None,
        image: bytes | None = None,
    ) -> None:
        """Draw `facts`; `big` for the customer's eyes, `remove` adds the column's remove button,
        `image` the product's picture (drawn when it decodes)."""
        self.clear_widgets()
        self.buttons = {}
        self.code = facts.code
        size = theme.SHOW_SIZE if big else theme.SIZE
        if remove is not None:  # at the top: in reach without scrolling
            button = Factory.QuietButton(text=_("Remove"))
            button.bind(on_release=lambda *_: remove(facts.code))
            self.buttons[f"remove:{facts.code}"] = button
            self.add_widget(button)
        self._text("Title", facts.name, size["title"])
        if image is not None:
            from tablet.product_view import picture

            shown = picture(image, facts.image or "")
            if isinstance(shown, Image):  # for the customer: a picture or nothing
                self.add_widget(shown)
        self._text("Caption", facts.category, size["small"])
        fill = theme.RISK_COLOURS.get(f"R{facts.risk_level}", theme.NAVY)
        self._text("RiskBadge", facts.risk, size["body"], fill=list(fill))
        for heading, value in _rows(facts, eligibility):
            self._text("FactHeading", heading, size["small"])
            self._text("BodyText", value, size["body"])
            if heading == _("Yield") and facts.yield_basis:
                self._text("Caption", facts.yield_basis, size["small"])
        if facts.points:
            self._text("FactHeading", _("Highlights"), size["small"])
            for point in facts.points:
                self._text("BodyText", f"•  {point}", size["body"])
        self._text("Disclaimer", facts.disclaimer, size["small"])
        self.add_widget(Widget())  # takes the row's spare height: every column starts at the top


class StaffGesture:
    """Three quick taps on the corner, then a long press there: staff leave the presentation.

    A customer's idle tapping never completes it: the taps must be quick, the press long, all
    within a few seconds, and a touch anywhere else starts over.
    """

    TAPS = 3
    TAP_MAX_S = 0.6
    LONG_PRESS_S = 1.5
    WITHIN_S = 8.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        """Start over."""
        self.taps = 0
        self.first = 0.0
        self.down_at: float | None = None

    def down(self) -> None:
        """A finger on the corner."""
        now = self.clock()
        if self.taps and now - self.first > self.WITHIN_S:
            self.reset()
        self.down_at = now

    def up(self) -> bool:
        """The finger lifts; True when this completes the gesture."""
        if self.down_at is None:
            return False
        now = self.clock()
        held, self.down_at = now - self.down_at, None
        if held >= self.LONG_PRESS_S:
            done = self.taps == self.TAPS and now - self.first <= self.WITHIN_S
            self.reset()
            return done
        if held <= self.TAP_MAX_S and self.taps < self.TAPS:
            self.first = self.first if self.taps else now
            self.taps += 1
            return False
        self.reset()
        return False


class StaffCorner(Widget):  # type: ignore[misc]
    """The presentation's top-left corner: feeds touches to the staff gesture."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.gesture = StaffGesture()
        self.done: Callable[[], None] | None = None
        self.armed = False  # only in the gesture mode

    def on_touch_down(self, touch: Any) -> bool:
        """A touch here starts a tap or the press; elsewhere it starts the gesture over."""
        if not self.armed:
            return False
        if not self.collide_point(*touch.pos):
            self.gesture.reset()
            return False
        touch.grab(self)
        self.gesture.down()
        return True

    def on_touch_up(self, touch: Any) -> bool:
        """The end of a tap or press on the corner."""
        if touch.grab_current is not self:
            return False
        touch.ungrab(self)
        if self.gesture.up() and self.done is not None:
            self.done()
        return True
