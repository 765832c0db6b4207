"""The tablet's look: colours, fonts, labels and buttons, and forgetting cached text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.uix.button import Button
from kivy.uix.label import Label

__all__ = [
    "BG",
    "GOLD",
    "GREY",
    "INK",
    "NAVY",
    "RED",
    "forget_widget_caches",
    "make_button",
    "make_label",
    "use_font",
]

BG = (0.95, 0.96, 0.98, 1)
INK = (0.08, 0.12, 0.2, 1)
NAVY = (0.09, 0.2, 0.38, 1)
GOLD = (0.96, 0.74, 0.2, 1)
GREY = (0.55, 0.6, 0.68, 1)
RED = (0.78, 0.2, 0.18, 1)


def use_font(path: Path) -> None:
    """Make `path` (a CJK font) Kivy's default so Chinese draws."""
    LabelBase.register(DEFAULT_FONT, fn_regular=str(path), fn_bold=str(path))


def forget_widget_caches() -> None:
    """Drop Kivy's cached label textures (they may hold customer text)."""
    from kivy.cache import Cache

    for category in ("textinput.label", "textinput.width", "kv.texture", "kv.image"):
        if category in Cache._categories:
            Cache.remove(category)


def make_label(text: str = "", **kw: Any) -> Label:
    """Return a left-aligned label in ink that wraps to its size."""
    kw.setdefault("color", INK)
    kw.setdefault("halign", "left")
    kw.setdefault("valign", "middle")
    label = Label(text=text, **kw)
    label.bind(size=lambda w, s: setattr(w, "text_size", s))
    return label


def make_button(text: str, **kw: Any) -> Button:
    """Return a flat navy button."""
    kw.setdefault("background_normal", "")
    kw.setdefault("background_color", NAVY)
    kw.setdefault("color", (1, 1, 1, 1))
    return Button(text=text, **kw)
