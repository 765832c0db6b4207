"""The words for a wait estimate, in one place: the kiosk menu and ticket screen, the printed
ticket, the staff tablet and the lobby display all show `wait_words`, so they cannot disagree.

The estimate travels as whole minutes `(low, high)`; `(0, 0)` means the customer is about to be
called ("next", 即将叫号) and is shown instead of a range (docs/queue.md, "Wait range").
"""

from __future__ import annotations

from pathlib import Path

from branch_common.i18n import EN, N_, ZH_CN, Catalogue, translator

__all__ = ["COMMON", "NEXT", "is_next", "wait_words", "wait_words_both"]

COMMON = Catalogue("common", Path(__file__).resolve().parent)
"""The shared leaf's own catalogue (branch_common/locale)."""

NEXT = (0, 0)
"""The whole-minute pair that means "about to be called"."""


def is_next(low: int, high: int) -> bool:
    """Return whether a whole-minute estimate means the customer is about to be called."""
    return high <= 0


def wait_words(low: int, high: int, locale: str = ZH_CN) -> str:
    """Return the estimate as every screen and ticket shows it, in `locale` ("zh_CN" or "en";
    the kiosk's "zh" counts as Chinese)."""
    say = translator(EN if locale == EN else ZH_CN, COMMON).gettext
    if is_next(low, high):
        return say(N_("next"))
    if low == high:
        return say(N_("about {minutes} min")).format(minutes=high)
    return say(N_("about {low}–{high} min")).format(low=low, high=high)


def wait_words_both(low: int, high: int) -> dict[str, str]:
    """Return the estimate's words in every language, keyed by locale (for the lobby display)."""
    return {ZH_CN: wait_words(low, high, ZH_CN), EN: wait_words(low, high, EN)}
