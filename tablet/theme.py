"""The tablet's look in one place: colours, type sizes (sp), spacing (dp) and the touch minimum.

Plain numbers, no Kivy import: the .kv files wrap them in dp()/sp(), and tests check the colour
pairs' contrast without a window. Every text colour is listed with the backgrounds it sits on
in TEXT_PAIRS, and each pair reaches WCAG's 4.5:1.
"""

from __future__ import annotations

__all__ = [
    "ACCENT",
    "ALERT_BG",
    "ALERT_INK",
    "BG",
    "BUTTON_H",
    "GOLD",
    "HEADER_H",
    "INK",
    "LINE",
    "MUTED",
    "NAVY",
    "ON_DARK",
    "QUIET",
    "RISK_COLOURS",
    "ROW_H",
    "SHOW_SIZE",
    "SIZE",
    "SPACE",
    "SURFACE",
    "TAG_BG",
    "TEXT_PAIRS",
    "TIER_COLOURS",
    "TOUCH_MIN",
    "WARN_BG",
    "WARN_INK",
    "Colour",
    "contrast_ratio",
    "hex_colour",
    "risk_colour",
    "tier_colour",
]

Colour = tuple[float, float, float, float]


def hex_colour(code: str) -> Colour:
    """'#0B3D91' as Kivy's RGBA floats."""
    code = code.lstrip("#")
    return (int(code[0:2], 16) / 255, int(code[2:4], 16) / 255, int(code[4:6], 16) / 255, 1.0)


BG = hex_colour("#F3F5F9")  # the page
SURFACE = hex_colour("#FFFFFF")  # cards and forms
INK = hex_colour("#14213D")  # body text
MUTED = hex_colour("#4A5568")  # secondary text
NAVY = hex_colour("#0B3D91")  # the bank's colour: header, primary buttons
ON_DARK = hex_colour("#FFFFFF")  # text on navy and tier badges
ACCENT = hex_colour("#1E6B45")  # "connected", confirmations
GOLD = hex_colour("#F6D27A")  # priority rows (ink on gold)
QUIET = hex_colour("#E3E8F0")  # secondary buttons (ink on it)
TAG_BG = hex_colour("#E6EDF8")  # segment and benefit tags (navy on it)
LINE = hex_colour("#D5DCE6")  # separators (no text)
ALERT_BG = hex_colour("#FDECEA")
ALERT_INK = hex_colour("#8A1C12")
WARN_BG = hex_colour("#FFF4D6")
WARN_INK = hex_colour("#6B4E00")

# The customer's tier badge: white text on the tier's colour.
TIER_COLOURS: dict[str, Colour] = {
    "mass": hex_colour("#4A5568"),
    "basic": hex_colour("#2F5D8A"),
    "wealth": hex_colour("#8A5A00"),
    "private": hex_colour("#4B2A6B"),
}

# A product's risk badge R1-R5: white text on a colour from green to red.
RISK_COLOURS: dict[str, Colour] = {
    "R1": hex_colour("#1E6B45"),
    "R2": hex_colour("#2F5D8A"),
    "R3": hex_colour("#7A5200"),
    "R4": hex_colour("#A3400F"),
    "R5": hex_colour("#8A1C12"),
}

# Type sizes in sp, spacing in dp.
SIZE = {"title": 26, "heading": 21, "body": 18, "small": 16, "ticket": 24}
# The presentation turned toward the customer: read from an arm's length away.
SHOW_SIZE = {"title": 40, "heading": 28, "body": 24, "small": 20}
SPACE = {"xs": 4, "s": 8, "m": 12, "l": 16, "xl": 24}
TOUCH_MIN = 48  # dp: no button smaller, either way
BUTTON_H = 56
ROW_H = 64
HEADER_H = 64

# (text, background, where): every pair text is drawn on.
TEXT_PAIRS: tuple[tuple[Colour, Colour, str], ...] = (
    (INK, BG, "body text on the page"),
    (MUTED, BG, "secondary text on the page"),
    (INK, SURFACE, "body text on a card"),
    (MUTED, SURFACE, "secondary text on a card"),
    (NAVY, SURFACE, "headings on a card"),
    (ACCENT, SURFACE, "confirmation on a card"),
    (ACCENT, BG, "confirmation on the page"),
    (ON_DARK, NAVY, "header and primary buttons"),
    (INK, GOLD, "priority rows"),
    (INK, QUIET, "secondary buttons"),
    (NAVY, TAG_BG, "tags"),
    (ALERT_INK, ALERT_BG, "alerts"),
    (ALERT_INK, SURFACE, "attrition warning on a card"),
    (WARN_INK, WARN_BG, "priority banner"),
    *((ON_DARK, colour, f"tier badge {code}") for code, colour in TIER_COLOURS.items()),
    *((ON_DARK, colour, f"risk badge {code}") for code, colour in RISK_COLOURS.items()),
    (ON_DARK, ACCENT, "suitable flag"),
    (INK, TAG_BG, "selected filter chip"),
)


def tier_colour(code: str | None) -> Colour:
    """The badge colour of a tier (navy for a tier this table does not know)."""
    return TIER_COLOURS.get(code or "", NAVY)


def risk_colour(risk: str | None) -> Colour:
    """The badge colour of a product risk level (muted grey for a level this table lacks)."""
    return RISK_COLOURS.get(risk or "", MUTED)


def _luminance(colour: Colour) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(text: Colour, background: Colour) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 to 21)."""
    lighter, darker = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
