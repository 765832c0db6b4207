"""Report periods: one business day, an ISO week (Monday to Sunday) or a calendar month."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = ["BadReportPeriod", "Period", "PeriodKind", "period_of"]

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class PeriodKind(StrEnum):
    """How long a report's period is."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class BadReportPeriod(ValueError):
    """The period asked for is not a day, week or month the hub can report on."""


@dataclass(frozen=True)
class Period:
    """A report's calendar days, first to last inclusive (the branch's local dates)."""

    kind: PeriodKind
    first: date
    last: date

    def days(self) -> list[date]:
        """Every calendar day of the period, in order."""
        return [self.first + timedelta(n) for n in range((self.last - self.first).days + 1)]


def _iso_day(text: str) -> date:
    try:
        return date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else date.min
    except ValueError:
        return date.min


def period_of(kind: str, day: date | str | None, today: date) -> Period:
    """The day, ISO week or month holding `day` (default today); never one wholly in the future."""
    try:
        which = PeriodKind(kind)
    except ValueError:
        raise BadReportPeriod(f"a report covers a day, week or month, not {kind!r}") from None
    if day is None:
        day = today
    elif isinstance(day, str):
        day = _iso_day(day)
    if day == date.min:
        raise BadReportPeriod("the report's date must be YYYY-MM-DD")
    if day > today:
        raise BadReportPeriod("a report cannot cover a day that has not begun")
    if which is PeriodKind.DAY:
        return Period(which, day, day)
    if which is PeriodKind.WEEK:
        monday = day - timedelta(day.weekday())
        return Period(which, monday, monday + timedelta(6))
    last = calendar.monthrange(day.year, day.month)[1]
    return Period(which, day.replace(day=1), day.replace(day=last))
