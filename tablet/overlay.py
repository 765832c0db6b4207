"""What the tablet's sheets and pickers drawn over a screen share: they keep every touch."""

from __future__ import annotations

from typing import Any, TypeVar

from kivy.uix.anchorlayout import AnchorLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

__all__ = ["Overlay", "overlay_on", "screen_of"]

Shown = TypeVar("Shown", bound="Overlay")


class Overlay(AnchorLayout):  # type: ignore[misc]
    """Drawn over a screen: touches stay in it, so the screen below neither reacts nor scrolls."""

    def on_touch_down(self, touch: Any) -> bool:
        """Touches stay in the overlay."""
        super().on_touch_down(touch)
        return True

    def on_touch_move(self, touch: Any) -> bool:
        """Nor does the list below scroll under it."""
        super().on_touch_move(touch)
        return True

    def on_touch_up(self, touch: Any) -> bool:
        """Nor take the end of a touch."""
        super().on_touch_up(touch)
        return True


def screen_of(widget: Widget | None) -> Screen | None:
    """The screen a widget is drawn on, if any."""
    while widget is not None and not isinstance(widget, Screen):
        widget = widget.parent
    return widget


def overlay_on(screen: Any, kind: type[Shown]) -> Shown | None:
    """The overlay of that kind open over a screen, if any."""
    children = getattr(screen, "children", [])
    return next((c for c in children if isinstance(c, kind)), None)
