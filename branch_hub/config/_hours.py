"""The branch's opening hours to customers, one window per weekday (or closed)."""

from __future__ import annotations

import re
from datetime import date

from pydantic import Field, field_validator

from branch_hub.config._strict import Strict

__all__ = ["WEEKDAYS", "OpeningHours", "minutes_of", "parse_window"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
CLOSED = "closed"
_WINDOW = re.compile(r"^\s*(\S+)\s*-\s*(\S+)\s*$")
_HHMM = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_DAY = "09:00-17:00"


def minutes_of(hhmm: str) -> int:
    """Minutes after midnight of a time HH:MM (24:00 is the day's end); ValueError if not one."""
    found = _HHMM.match(hhmm)
    if found is None or (found[1] == "24" and found[2] != "00"):
        raise ValueError(f"bad time {hhmm!r} (expected HH:MM, 00:00 to 24:00)")
    return int(found[1]) * 60 + int(found[2])


def parse_window(text: str) -> tuple[int, int] | None:
    """'HH:MM-HH:MM' as (opens, closes) in minutes, or None for 'closed'; ValueError if neither."""
    if text.strip().lower() == CLOSED:
        return None
    found = _WINDOW.match(text)
    if found is None:
        raise ValueError('expected "HH:MM-HH:MM" (e.g. "09:00-17:00") or "closed"')
    opens, closes = minutes_of(found[1]), minutes_of(found[2])
    if closes <= opens:
        raise ValueError(f"closes at {found[2]}, not after it opens at {found[1]}")
    return opens, closes


def _hours(day: str, default: str) -> str:
    return Field(
        default=default,
        description=f'{day}: "HH:MM-HH:MM" the branch is open to customers (branch time, '
        'closing 24:00 at the latest), or "closed".',
    )


class OpeningHours(Strict):
    """When the branch is open to customers; same-day bookings must fall inside today's window."""

    mon: str = _hours("Monday", _DAY)
    tue: str = _hours("Tuesday", _DAY)
    wed: str = _hours("Wednesday", _DAY)
    thu: str = _hours("Thursday", _DAY)
    fri: str = _hours("Friday", _DAY)
    sat: str = _hours("Saturday", _DAY)
    sun: str = _hours("Sunday", _DAY)

    @field_validator(*WEEKDAYS)
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value

    def on(self, day: date) -> tuple[int, int] | None:
        """That day's (opens, closes) in minutes after midnight, or None when closed."""
        return parse_window(getattr(self, WEEKDAYS[day.weekday()]))
