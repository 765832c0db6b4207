"""The kiosk's words: English in the code, Chinese from its catalogue (kiosk/locale/zh_CN).

The kiosk keeps its own language button (the flow's `lang`, 'zh' first, 'en' on a press); its
screens read each text through `say(message, lang)`. Mark a new text `N_("English")` (or write
`say("English", lang)`), run `./run i18n`, write its Chinese into `kiosk.po` (docs/i18n.md).
"""

from __future__ import annotations

from pathlib import Path

from branch_hub.client.i18n import EN, N_, ZH_CN, Catalogue, translator

__all__ = ["KIOSK", "N_", "both", "say"]

KIOSK = Catalogue("kiosk", Path(__file__).resolve().parent)


def say(message: str, lang: str) -> str:
    """`message` (English) in the kiosk's `lang` ('zh' or 'en')."""
    return translator(EN if lang == "en" else ZH_CN, KIOSK).gettext(message)


def both(message: str) -> str:
    """Chinese, then English: for what every customer must read whatever the language."""
    return f"{say(message, 'zh')} / {message}"
