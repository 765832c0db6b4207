"""The customer's queue kiosk: a full-screen touchscreen app that talks only to the branch hub's API.

`kiosk.flow` (state machine) and `kiosk.screens` (view model) are plain Python; `kiosk.app`
holds the thin Kivy layer and is imported only when a window is wanted.
"""

from __future__ import annotations

from branch_hub.client.fonts import FontMissing, find_cjk_font
from kiosk.flow import Flow, Phase, State, Timeouts
from kiosk.screens import ScreenModel, describe

__all__ = [
    "Flow",
    "FontMissing",
    "Phase",
    "ScreenModel",
    "State",
    "Timeouts",
    "describe",
    "find_cjk_font",
]
