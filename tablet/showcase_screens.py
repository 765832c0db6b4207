"""The compare screen and the presentation screen (kv/compare.kv, kv/presentation.kv).

Both draw what `view.showcase` holds; the presentation leaves through the staff PIN (checked by
the hub) or the staff gesture, as the tablet's settings say.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button

from tablet.i18n import _, again
from tablet.product_column import ProductColumn
from tablet.product_facts import facts_of
from tablet.screens import TabletScreen
from tablet.showcase import EXIT_GESTURE, EXIT_PIN, MAX_COMPARED

__all__ = ["SHOWCASE_SCREENS", "CompareScreen", "PinPad", "PresentScreen"]

PIN_MAX = 12


def _fill(
    box: Any,
    records: list[Any],
    pictures: Callable[[str | None], bytes | None] | None = None,
    **show: Any,
) -> list[ProductColumn]:
    """One column per record in `box`, drawn again from the records (the language may switch).

    The row is as tall as the tallest column's content, and every column as tall as the row.
    """
    box.clear_widgets()
    columns: list[ProductColumn] = []

    def fit(*_: Any) -> None:
        box.height = max((c.minimum_height for c in columns), default=0)

    for record in records:
        column = Factory.ProductColumn()
        facts = facts_of(record)
        image = pictures(facts.image) if pictures is not None else None
        column.show(facts, image=image, **show)
        column.bind(minimum_height=fit)
        box.add_widget(column)
        columns.append(column)
    fit()
    return columns


class CompareScreen(TabletScreen):
    """Two or three products side by side, for staff to weigh them with the customer."""

    hint_text = StringProperty("")

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.columns: list[ProductColumn] = []
        self._drawn: tuple[Any, ...] = ()

    def buttons(self) -> dict[str, Button]:
        """The screen's buttons and each column's remove button."""
        found = super().buttons()
        for column in self.columns:
            found.update(column.buttons)
        return found

    def refresh(self) -> None:
        """Draw the compared products (again only when they or the language changed)."""
        showcase = self.view.showcase
        records = showcase.records(showcase.compared)
        key = (tuple(showcase.compared), _("Term"))
        if key != self._drawn:
            self._drawn = key
            self.columns = _fill(self.ids.columns, records, remove=showcase.remove)
        missing = len(showcase.compared) - len(records)
        if missing:
            self.hint_text = _("A product is not in the tablet's catalogue")
        elif len(records) < 2:
            self.hint_text = _("Add another product from the catalogue to compare")
        else:
            self.hint_text = _("Up to {count} products side by side").format(count=MAX_COMPARED)

    def back(self) -> None:
        """Back to where the comparison was opened."""
        self.view.showcase.leave_compare()

    def present(self) -> None:
        """Turn the comparison toward the customer."""
        showcase = self.view.showcase
        showcase.open_presentation(list(showcase.compared))


class PinPad(BoxLayout):  # type: ignore[misc]
    """Digits, a masked line and the hub's answer (kv/presentation.kv)."""

    shown = StringProperty("")
    answer = StringProperty("")
    checking = BooleanProperty(False)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.pin = ""

    def buttons(self) -> dict[str, Button]:
        """The pad's keys by id."""
        return {k: w for k, w in self.ids.items() if isinstance(w, Button)}

    def key(self, digit: str) -> None:
        """A digit pressed."""
        if len(self.pin) < PIN_MAX:
            self.pin += digit
            self.shown = "●" * len(self.pin)

    def erase(self) -> None:
        """The last digit off."""
        self.pin = self.pin[:-1]
        self.shown = "●" * len(self.pin)

    def take(self) -> str:
        """The PIN typed, forgotten by the pad."""
        pin, self.pin, self.shown = self.pin, "", ""
        return pin


class PresentScreen(TabletScreen):
    """The product (or the comparison) turned toward the customer: no staff lines, no way out
    but the staff PIN or the staff gesture."""

    exit_mode = StringProperty(EXIT_PIN)
    pad_open = BooleanProperty(False)

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.pad = PinPad()
        self._drawn: tuple[Any, ...] = ()

    def buttons(self) -> dict[str, Button]:
        """The way out (PIN mode) and, while it is open, the PIN pad's keys."""
        found = super().buttons() if self.exit_mode == EXIT_PIN else {}
        return {**found, **(self.pad.buttons() if self.pad_open else {})}

    def on_pre_enter(self, *_: Any) -> None:
        """Read the exit setting; arm the corner in gesture mode."""
        self.exit_mode = self.view.showcase.exit_mode()
        corner = self.ids.corner
        corner.armed = self.exit_mode == EXIT_GESTURE
        corner.gesture.reset()
        corner.done = self.view.showcase.leave_presentation
        self.close_pad()

    def on_leave(self, *_: Any) -> None:
        """Nothing of the presentation stays behind."""
        self.close_pad()
        self.ids.columns.clear_widgets()
        self._drawn = ()

    def refresh(self) -> None:
        """Draw the products; show the hub's answer to a PIN."""
        showcase = self.view.showcase
        key = (tuple(showcase.presented), _("Term"))
        if key != self._drawn:
            self._drawn = key
            records = showcase.records(showcase.presented)
            _fill(self.ids.columns, records, showcase.picture, big=True, eligibility=False)
        while showcase.pin_answers:
            answer = showcase.pin_answers.popleft()
            self.pad.checking = False
            if answer is None:
                showcase.leave_presentation()
                return
            self.pad.answer = str(again(answer))

    def open_pad(self) -> None:
        """Staff want to leave: the PIN pad over the product."""
        if not self.pad_open:
            self.pad.answer = ""
            self.add_widget(self.pad)
            self.pad_open = True

    def close_pad(self) -> None:
        """Back to the product; the typed digits are forgotten."""
        self.pad.take()
        self.pad.checking = False
        if self.pad_open:
            self.remove_widget(self.pad)
            self.pad_open = False

    def submit_pin(self) -> None:
        """Send the PIN to the hub; the answer comes back through `refresh`."""
        if self.pad.checking:
            return
        pin = self.pad.take()
        if not pin:
            return
        self.pad.checking = True
        self.pad.answer = _("Checking…")
        self.view.showcase.check_pin(pin)


SHOWCASE_SCREENS: dict[str, type[TabletScreen]] = {
    "compare": CompareScreen,
    "present": PresentScreen,
}
