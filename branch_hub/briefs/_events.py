"""Events worth telling staff about a customer: birthday, out of town, long absence, first visit."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date
from typing import Any

from branch_hub.briefs._regions import province_name

__all__ = ["customer_events", "days_to_birthday", "parse_date"]


def parse_date(value: object) -> date | None:
    """Parse an ISO date (YYYY-MM-DD, or the date part of a timestamp); None if malformed."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _birthday_in(year: int, born: date) -> date:
    # 29 February in a common year is kept on 28 February (staff greet early rather than late).
    if born.month == 2 and born.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, born.month, born.day)


def days_to_birthday(born: date, today: date) -> int:
    """Return the days from today to the next birthday (0 = today), across year ends."""
    this_year = _birthday_in(today.year, born)
    if this_year >= today:
        return (this_year - today).days
    return (_birthday_in(today.year + 1, born) - today).days


def _birthday(record: Mapping[str, Any], today: date, window: int) -> dict[str, str] | None:
    born = parse_date(record.get("birth_date"))
    if born is None or born > today:
        return None
    days = days_to_birthday(born, today)
    if days > window:
        return None
    when = date.fromordinal(today.toordinal() + days)
    md_zh = f"{when.month}月{when.day}日"
    md_en = f"{when.day} {calendar.month_abbr[when.month]}"
    if days == 0:
        return {"text_zh": f"今天生日（{md_zh}）", "text_en": f"Birthday today ({md_en})"}
    if days == 1:
        return {"text_zh": f"明天生日（{md_zh}）", "text_en": f"Birthday tomorrow ({md_en})"}
    return {
        "text_zh": f"{days}天后生日（{md_zh}）",
        "text_en": f"Birthday in {days} days ({md_en})",
    }


def _home_region(record: Mapping[str, Any]) -> str | None:
    region = record.get("region_code")
    if isinstance(region, str) and len(region) == 6 and region.isdigit():
        return region
    # Older exports carry no region_code: GB 11643 §5 puts the address code in digits 1-6.
    id_number = record.get("id_number")
    if isinstance(id_number, str) and len(id_number) == 18 and id_number[:6].isdigit():
        return id_number[:6]
    return None


def _out_of_town(record: Mapping[str, Any], branch_region: str) -> dict[str, str] | None:
    home = _home_region(record)
    if home is None or home[:2] == branch_region[:2]:
        return None
    names = province_name(home)
    if names is None:
        return {"text_zh": "外地客户", "text_en": "Out-of-town customer"}
    return {
        "text_zh": f"外地客户（{names[0]}）",
        "text_en": f"Out-of-town customer (from {names[1]})",
    }


def _visits(record: Mapping[str, Any], today: date, long_absence: int) -> dict[str, Any] | None:
    if "last_visit" not in record:  # an export without visit history: say nothing
        return None
    if record["last_visit"] is None:
        return {"kind": "first_visit", "text_zh": "首次到访", "text_en": "First visit"}
    last = parse_date(record["last_visit"])
    if last is None:
        return None
    days = (today - last).days
    if days <= long_absence:
        return None
    return {
        "kind": "long_absence",
        "text_zh": f"已{days}天未到访（上次 {last.isoformat()}）",
        "text_en": f"First visit in {days} days (last {last.isoformat()})",
    }


def customer_events(
    record: Mapping[str, Any],
    today: date,
    branch_region: str,
    *,
    birthday_window_days: int = 7,
    long_absence_days: int = 180,
) -> list[dict[str, Any]]:
    """Return the events for a customer on a business day, in a fixed order."""
    events: list[dict[str, Any]] = []
    birthday = _birthday(record, today, birthday_window_days)
    if birthday:
        events.append({"kind": "birthday", **birthday})
    away = _out_of_town(record, branch_region)
    if away:
        events.append({"kind": "out_of_town", **away})
    visits = _visits(record, today, long_absence_days)
    if visits:
        events.append(visits)
    return events
