"""The tablet's widget classes (their look is in kv/widgets.kv), fonts and forgetting cached text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.metrics import dp
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from tablet import theme

__all__ = [
    "Chip",
    "PrimaryButton",
    "VisitList",
    "VisitRow",
    "forget_widget_caches",
    "use_font",
]


def use_font(path: Path) -> None:
    """Make `path` (a CJK font) Kivy's default so Chinese draws."""
    LabelBase.register(DEFAULT_FONT, fn_regular=str(path), fn_bold=str(path))


def forget_widget_caches() -> None:
    """Drop Kivy's cached label textures (they may hold customer text)."""
    from kivy.cache import Cache

    for category in ("textinput.label", "textinput.width", "kv.texture", "kv.image"):
        if category in Cache._categories:
            Cache.remove(category)


class PrimaryButton(Button):  # type: ignore[misc]
    """A button never narrower than the touch minimum."""

    min_width = NumericProperty(dp(theme.TOUCH_MIN))

    def on_width(self, _: Any, width: float) -> None:
        """Keep fixed-width buttons at least a finger wide."""
        if self.size_hint_x is None and width < self.min_width:
            self.width = self.min_width


class Chip(Label):  # type: ignore[misc]
    """A tag: a segment, a benefit, a tier badge (its fill is the tier's colour)."""

    fill = ListProperty(list(theme.TAG_BG))


class VisitRow(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """One customer in the list; tapping it opens the brief."""

    visit_id = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    priority = BooleanProperty(False)
    selected = BooleanProperty(False)
    pick = ObjectProperty(None, allownone=True)

    def on_release(self) -> None:
        """Open this customer's brief."""
        if self.pick is not None and self.visit_id:
            self.pick(self.visit_id)


class VisitList(RecycleView):  # type: ignore[misc]
    """The customer list: only the rows on screen exist as widgets, so a day's list scrolls."""

    def row_for(self, visit_id: str) -> VisitRow | None:
        """The row widget showing `visit_id`, if it is on screen."""
        layout = self.layout_manager
        for row in layout.children if layout is not None else ():
            if isinstance(row, VisitRow) and row.visit_id == visit_id:
                return row
        return None
