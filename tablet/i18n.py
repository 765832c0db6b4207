"""The tablet's words: English in the code, Chinese from its catalogue, one language at a time.

How to write a text the tablet shows (docs/i18n.md):

* Python: `_("Claim customer")`, translated into the language shown now. Text kept in state and
  shown later (a status line, a banner) is `said(N_("Saved"), field=value)`: a `str` in today's
  language that `again()` re-translates when the language changes. `N_("…")` only marks a table
  entry for extraction; translate it where it is shown.
* kv: `#:import tr tablet.kvtr.tr`, then `text: tr._("Log in")` (a format string with a value:
  `tr._("Waiting ({count})").format(count=root.count)`). `tr` is an observable: every kv rule
  that calls `tr._` runs again when `use_language` switches, so the screens change live.
* A screen whose text Python builds (the brief card) redraws because the switch bumps the
  state's revision; its `refresh` calls `_` again.
* Then `./run i18n`, fill each empty `msgstr` of `tablet/locale/zh_CN/LC_MESSAGES/tablet.po` with
  the Chinese staff read, `./run i18n` again; `--check` fails on a `_` or `tr._` string (Python or
  kv) missing from the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from branch_hub.client.i18n import DEFAULT_LOCALE, EN, LOCALES, N_, Catalogue, translator

__all__ = [
    "DEFAULT_LOCALE",
    "EN",
    "LOCALES",
    "N_",
    "TABLET",
    "Said",
    "_",
    "again",
    "chinese",
    "either",
    "language",
    "on_switch",
    "said",
    "use_language",
]

TABLET = Catalogue("tablet", Path(__file__).resolve().parent)
_shown = [DEFAULT_LOCALE]  # one tablet, one language at a time


def language() -> str:
    """The locale the tablet shows now (zh_CN or en)."""
    return _shown[0]


def chinese(message: str) -> str:
    """`message` in Chinese whatever is shown (for errors that carry both languages)."""
    return translator(DEFAULT_LOCALE, TABLET).gettext(message)


def _(message: str) -> str:
    """`message` (English) in the language shown now."""
    return translator(_shown[0], TABLET).gettext(message)


class Said(str):
    """Text kept to be shown later: today's words, re-made in another language by `again`."""

    remake: Callable[[], str]

    def __new__(cls, remake: Callable[[], str]) -> Said:
        made = super().__new__(cls, remake())
        made.remake = remake
        return made


def said(message: str, **fields: Any) -> Said:
    """`message` (English, `str.format` fields) translated now and again on every switch."""
    return Said(lambda: _(message).format(**{k: again(v) for k, v in fields.items()}))


def either(english: str, chinese: str | None) -> Said:
    """Text that came in both languages (a hub alert's message and message_zh)."""
    return Said(lambda: chinese if _shown[0] == DEFAULT_LOCALE and chinese else english)


def again(text: Any) -> Any:
    """`text` in the language shown now when it was `said`; anything else as it is."""
    return text.remake() if isinstance(text, Said) else text


# Called after every switch (tablet.kvtr re-runs the kv rules that use `tr._`).
on_switch: list[Callable[[], None]] = []


def use_language(locale: str) -> None:
    """Show every text from now on in `locale`; the kv rules that use `tr._` re-run."""
    if locale not in LOCALES:
        raise ValueError(f"no catalogue for locale {locale!r}")
    if _shown[0] != locale:
        _shown[0] = locale
        for hook in on_switch:
            hook()
