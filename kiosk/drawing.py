"""The kiosk's drawn parts: its colours, the card-slot illustration and QR textures."""

from __future__ import annotations

import io
from typing import Any

import qrcode
from kivy.core.image import Image as CoreImage
from kivy.graphics import Color, Line, Rectangle, RoundedRectangle
from kivy.uix.widget import Widget

__all__ = [
    "BG",
    "FG",
    "GOLD",
    "MUTED",
    "NAVY_TEXT",
    "PANEL",
    "SECONDARY",
    "SERVICE",
    "WARN",
    "CardIllustration",
    "qr_texture",
]

# High contrast: white on deep navy, dark text on gold for the main actions.
BG = (0.035, 0.11, 0.22, 1)
FG = (1, 1, 1, 1)
MUTED = (0.78, 0.84, 0.92, 1)
GOLD = (0.99, 0.78, 0.22, 1)
NAVY_TEXT = (0.03, 0.08, 0.16, 1)
SERVICE = (0.12, 0.36, 0.68, 1)
SECONDARY = (0.22, 0.29, 0.40, 1)
WARN = (1.0, 0.62, 0.25, 1)
PANEL = (0.10, 0.20, 0.34, 1)


def qr_texture(data: str) -> Any:
    """A Kivy texture of `data` as a QR code with crisp (unsmoothed) modules."""
    code = qrcode.QRCode(border=2, box_size=8)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer)
    buffer.seek(0)
    texture = CoreImage(buffer, ext="png").texture
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    return texture


class CardIllustration(Widget):  # type: ignore[misc]
    """A drawn kiosk front: card slot with a card going in, and the ID card pad."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        x, y = self.pos
        w, h = self.size
        side = min(w, h)
        ox, oy = x + (w - side * 0.8) / 2, y + side * 0.05
        pw, ph = side * 0.8, side * 0.9
        with self.canvas:
            Color(*PANEL)
            RoundedRectangle(pos=(ox, oy), size=(pw, ph), radius=[side * 0.04])
            # card slot and a card half inserted, chip visible
            Color(0.01, 0.02, 0.05, 1)
            slot_y = oy + ph * 0.62
            Rectangle(pos=(ox + pw * 0.2, slot_y), size=(pw * 0.6, ph * 0.025))
            Color(*GOLD)
            RoundedRectangle(
                pos=(ox + pw * 0.28, slot_y + ph * 0.04),
                size=(pw * 0.44, ph * 0.22),
                radius=[side * 0.015],
            )
            Color(0.75, 0.6, 0.2, 1)
            Rectangle(pos=(ox + pw * 0.34, slot_y + ph * 0.14), size=(pw * 0.08, ph * 0.06))
            # arrow: the card goes down into the slot
            Color(*FG)
            ax = ox + pw * 0.86
            Line(points=[ax, slot_y + ph * 0.26, ax, slot_y + ph * 0.04], width=side * 0.008)
            Line(
                points=[
                    ax - pw * 0.04,
                    slot_y + ph * 0.1,
                    ax,
                    slot_y + ph * 0.04,
                    ax + pw * 0.04,
                    slot_y + ph * 0.1,
                ],
                width=side * 0.008,
            )
            # ID card pad with contactless waves
            Color(0.2, 0.45, 0.8, 1)
            pad = (ox + pw * 0.18, oy + ph * 0.08)
            RoundedRectangle(pos=pad, size=(pw * 0.64, ph * 0.34), radius=[side * 0.03])
            Color(*FG)
            RoundedRectangle(
                pos=(pad[0] + pw * 0.12, pad[1] + ph * 0.06),
                size=(pw * 0.4, ph * 0.22),
                radius=[side * 0.012],
            )
            Color(0.2, 0.45, 0.8, 1)
            Rectangle(pos=(pad[0] + pw * 0.16, pad[1] + ph * 0.1), size=(pw * 0.1, ph * 0.13))
            Color(*FG)
            cx, cy = ox + pw * 0.5, pad[1] + ph * 0.38
            for r in (0.06, 0.1, 0.14):
                Line(circle=(cx, cy, side * r, -40, 40), width=side * 0.005)
