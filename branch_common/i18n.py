"""Chinese first, English on a toggle: gettext catalogues, and dates and amounts as zh-CN writes them.

Each package ships its own catalogue, `<package>/locale/<locale>/LC_MESSAGES/<domain>.po` with the
compiled `.mo` beside it (docs/i18n.md). The msgid is the English text, so English needs no
catalogue. Translating uses only the standard library's gettext, so a device without Babel still
translates; the formatters load Babel's CLDR data on first use.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

__all__ = [
    "DEFAULT_LOCALE",
    "EN",
    "LOCALES",
    "N_",
    "ZH_CN",
    "Catalogue",
    "format_amount",
    "format_date",
    "format_datetime",
    "translator",
]

ZH_CN = "zh_CN"
EN = "en"
LOCALES = (ZH_CN, EN)
DEFAULT_LOCALE = ZH_CN  # what a screen shows until someone presses the language toggle

Length = Literal["short", "medium", "long", "full"]


def N_(message: str) -> str:
    """Mark text for extraction where it is translated later (gettext_noop)."""
    return message


@dataclass(frozen=True)
class Catalogue:
    """One package's messages: its gettext domain and the folder of its sources and `locale/`."""

    domain: str
    package_dir: Path
    exclude: tuple[str, ...] = ()  # sub-folders whose text belongs to another catalogue

    @property
    def localedir(self) -> Path:
        """Where `<locale>/LC_MESSAGES/<domain>.po` and `.mo` live."""
        return self.package_dir / "locale"

    def po_path(self, locale: str) -> Path:
        """The translators' file for one locale."""
        return self.localedir / locale / "LC_MESSAGES" / f"{self.domain}.po"

    def mo_path(self, locale: str) -> Path:
        """The compiled file gettext reads."""
        return self.po_path(locale).with_suffix(".mo")


@lru_cache(maxsize=32)
def translator(locale: str, catalogue: Catalogue) -> gettext.NullTranslations:
    """The gettext functions (`.gettext`, `.ngettext`) of one catalogue in one locale."""
    if locale == EN:
        return gettext.NullTranslations()  # the msgids are the English text
    if locale not in LOCALES:
        raise ValueError(f"no catalogue for locale {locale!r}; known: {', '.join(LOCALES)}")
    with catalogue.mo_path(locale).open("rb") as compiled:  # a missing catalogue is a build fault
        return gettext.GNUTranslations(compiled)


def format_date(value: date, locale: str = DEFAULT_LOCALE, length: Length = "medium") -> str:
    """A calendar date as the locale writes it (zh_CN: 2026年12月2日)."""
    from babel import dates

    return dates.format_date(value, length, locale=locale)


def format_datetime(
    value: datetime, locale: str = DEFAULT_LOCALE, length: Length = "medium"
) -> str:
    """A moment in its own time zone as the locale writes it (zh_CN: 2026年12月2日 17:05:00)."""
    if value.tzinfo is None:
        raise ValueError("a naive datetime has no time zone to show")
    from babel import dates

    return dates.format_datetime(value, length, tzinfo=value.tzinfo, locale=locale)


def format_amount(value: Decimal | int, locale: str = DEFAULT_LOCALE) -> str:
    """An amount of yuan (never a float) as the locale writes it (zh_CN: ¥1,234.50)."""
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise TypeError("amounts are Decimal or int yuan, never float")
    from babel import numbers

    return numbers.format_currency(value, "CNY", locale=locale)
