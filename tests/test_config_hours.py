"""Opening hours in the branch file: any well-formed week loads, every mistake names its key."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.config import WEEKDAYS, ConfigError, OpeningHours, parse_config

SAMPLE = tomllib.loads((resources.files("branch_hub") / "sample_branch.toml").read_text("utf-8"))
MONDAY = date(2026, 11, 30)


def _with_hours(hours: dict[str, Any]) -> dict[str, Any]:
    return SAMPLE | {"branch": SAMPLE["branch"] | {"opening_hours": hours}}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


windows = st.integers(0, 24 * 60 - 1).flatmap(
    lambda opens: st.tuples(st.just(opens), st.integers(opens + 1, 24 * 60))
)
days = st.one_of(st.none(), windows)


def test_the_default_week_is_nine_to_five_every_day() -> None:
    hours = parse_config(SAMPLE).branch.opening_hours
    for n in range(7):
        assert hours.on(MONDAY + timedelta(n)) == (9 * 60, 17 * 60)


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({day: days for day in WEEKDAYS}))
def test_any_week_of_windows_loads_and_reads_back(week: dict[str, Any]) -> None:
    written = {
        day: "closed" if w is None else f"{_hhmm(w[0])}-{_hhmm(w[1])}" for day, w in week.items()
    }
    hours = parse_config(_with_hours(written)).branch.opening_hours
    for n, day in enumerate(WEEKDAYS):
        assert hours.on(MONDAY + timedelta(n)) == week[day]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(WEEKDAYS), st.integers(0, 24 * 60), st.integers(0, 24 * 60))
def test_a_window_that_does_not_close_after_it_opens_is_refused(
    day: str, opens: int, closes: int
) -> None:
    text = f"{_hhmm(opens)}-{_hhmm(closes)}"
    if closes > opens:
        assert parse_config(_with_hours({day: text})).branch.opening_hours.on(
            MONDAY + timedelta(WEEKDAYS.index(day))
        ) == (opens, closes)
        return
    with pytest.raises(ConfigError) as info:
        parse_config(_with_hours({day: text}), "hub.toml")
    assert str(info.value) == (
        f"hub.toml: branch.opening_hours.{day}: closes at {_hhmm(closes)}, not after it opens "
        f"at {_hhmm(opens)} (got {text!r})"
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=16))
def test_any_text_either_reads_as_hours_or_names_the_key(text: str) -> None:
    try:
        hours = parse_config(_with_hours({"wed": text}), "hub.toml").branch.opening_hours
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("hub.toml: branch.opening_hours.wed: ")
        assert "\n" not in message
        return
    window = hours.on(MONDAY + timedelta(2))
    assert window is None or 0 <= window[0] < window[1] <= 24 * 60


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"mon": "25:00-17:00"}, "mon: bad time '25:00' (expected HH:MM, 00:00 to 24:00)"),
        ({"tue": "09:00-24:30"}, "tue: bad time '24:30'"),
        ({"sat": "9-12"}, "sat: bad time '9'"),
        ({"sun": "shut"}, 'sun: expected "HH:MM-HH:MM" (e.g. "09:00-17:00") or "closed"'),
        ({"fri": "17:00-09:00"}, "fri: closes at 09:00, not after it opens at 17:00"),
        ({"fri": 9}, "fri: Input should be a valid string"),
        ({"holiday": "closed"}, "holiday: unknown key"),
    ],
)
def test_mistakes_are_one_clear_line(hours: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with_hours(hours), "hub.toml")
    assert str(info.value).startswith(f"hub.toml: branch.opening_hours.{message}")


def test_closed_days_and_the_whole_day() -> None:
    hours = OpeningHours(sat="09:00-12:00", sun="Closed", mon="00:00-24:00")
    assert hours.on(MONDAY) == (0, 24 * 60)
    assert hours.on(MONDAY + timedelta(5)) == (9 * 60, 12 * 60)
    assert hours.on(MONDAY + timedelta(6)) is None
