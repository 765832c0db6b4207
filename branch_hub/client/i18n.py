"""The apps' way to the catalogues and the zh_CN/en formats (the apps import only the device client)."""

from branch_common.i18n import (
    DEFAULT_LOCALE,
    EN,
    LOCALES,
    N_,
    ZH_CN,
    Catalogue,
    format_amount,
    format_date,
    format_datetime,
    translator,
)
from branch_common.wait_words import wait_words

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
    "wait_words",
]
