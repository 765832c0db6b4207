"""The hub's own catalogue: refusal messages (and later alerts) in English with their Chinese.

Text is marked with `N_` where it is written and translated here; the catalogue lives in
`branch_hub/locale/` (docs/i18n.md). The device client's and the web pages' text is not the hub's.
"""

from __future__ import annotations

from pathlib import Path

from branch_common.i18n import ZH_CN, Catalogue, translator

__all__ = ["HUB", "zh"]

HUB = Catalogue("hub", Path(__file__).resolve().parent, exclude=("client", "web"))


def zh(message: str) -> str:
    """The Chinese of one marked English message (read at import, never on the event loop)."""
    return translator(ZH_CN, HUB).gettext(message)
