"""The tablet's words: English in the code, Chinese from its catalogue, one language at a time.

`_` translates into the language shown now (Chinese until someone presses the toggle);
`use_language` switches it. The catalogue is `tablet/locale/zh_CN/LC_MESSAGES/tablet.po`
(docs/i18n.md); `./run i18n` extracts every `_("…")` and `N_("…")` of the tablet into it.
"""

from __future__ import annotations

from pathlib import Path

from branch_hub.client.i18n import DEFAULT_LOCALE, LOCALES, N_, Catalogue, translator

__all__ = ["N_", "TABLET", "_", "language", "use_language"]

TABLET = Catalogue("tablet", Path(__file__).resolve().parent)
_shown = [DEFAULT_LOCALE]  # one tablet, one language at a time


def language() -> str:
    """The locale the tablet shows now (zh_CN or en)."""
    return _shown[0]


def use_language(locale: str) -> None:
    """Show every text from now on in `locale`."""
    if locale not in LOCALES:
        raise ValueError(f"no catalogue for locale {locale!r}")
    _shown[0] = locale


def _(message: str) -> str:
    """`message` (English) in the language shown now."""
    return translator(_shown[0], TABLET).gettext(message)
