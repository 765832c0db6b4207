"""The appointment book on its own: when a read counts as early, on time, late or missed; the
no-show sweep; the report's counts; and what a new cache version does to HQ's bookings."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.database import HubDatabase
from branch_hub.lobby.appointment_book import Appointment, AppointmentBook, arrival_of
from branch_hub.lobby.appointment_index import BookingIndex
from branch_hub.reports.appointment_figures import AppointmentTally
from branch_hub.vocabulary import AppointmentStatus

DAY = "2026-12-03"


def _booking(key: str, start: str = "10:30", end: str = "11:00", **more: object) -> Appointment:
    return Appointment(
        key=key,
        day=DAY,
        customer_id="C-1",
        service="wealth",
        window_start=f"{DAY}T{start}",
        window_end=f"{DAY}T{end}",
        channel="call_centre",
        **more,  # type: ignore[arg-type]
    )


def _at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}T{hhmm}")


@pytest.mark.parametrize(
    ("read", "arrival"),
    [
        ("10:14", None),
        ("10:15", "early"),
        ("10:29", "early"),
        ("10:30", "on_time"),
        ("11:00", "on_time"),
        ("11:15", "late"),
        ("11:16", "missed"),
    ],
)
def test_a_read_against_the_window(read: str, arrival: str | None) -> None:
    assert arrival_of(_booking("hq:A"), _at(read), 15, 15) == arrival


@pytest.fixture
def book(tmp_path: Path) -> AppointmentBook:
    cipher = AtRestCipher(load_or_create_key(tmp_path / "atrest.key"))
    return AppointmentBook(HubDatabase(tmp_path / "hub.db"), cipher)


def test_sweep_marks_only_unchecked_bookings_past_the_grace(book: AppointmentBook) -> None:
    book.put(_booking("hq:past"))
    book.put(_booking("hq:later", "11:30", "12:00"))
    book.put(
        _booking("hub:done", status=AppointmentStatus.CHECKED_IN, ticket_id="T", arrival="late")
    )
    gone = book.mark_no_shows(DAY, _at("11:16"), 15)
    assert [a.key for a in gone] == ["hq:past"]
    states = {a.key: a.status for a in book.of_day(DAY)}
    assert states == {"hq:past": "no_show", "hq:later": "booked", "hub:done": "checked_in"}
    assert b"C-1" not in (book._hdb.conn.execute("SELECT sealed FROM appointments").fetchone()[0])


def test_the_report_counts_each_booking_once() -> None:
    tally = AppointmentTally(_at("12:00"), 15)
    tally.add_day(
        [
            _booking("a", arrival="early", status="checked_in", ticket_id="1"),
            _booking("b", arrival="on_time", status="checked_in", ticket_id="2"),
            _booking("c", arrival="missed", status="no_show", ticket_id="3"),
            _booking("d"),  # past the grace, not swept yet: a no-show all the same
            _booking("e", "13:00", "13:30"),
        ]
    )
    figures = tally.figures()["appointments"]
    assert figures == {
        "booked": 5,
        "checked_in": {"early": 1, "on_time": 1, "late": 0},
        "missed": 1,
        "no_show": 1,
        "pending": 1,
        "by_channel": {"call_centre": 5},
    }


def test_a_new_cache_version_drops_bookings_hq_withdrew(book: AppointmentBook) -> None:
    index = BookingIndex(book, lambda: None, None, frozenset({"wealth"}))  # type: ignore[arg-type]
    book.put(_booking("hq:kept"))
    book.put(_booking("hq:withdrawn"))
    book.put(replace(_booking("hq:came"), status="checked_in", ticket_id="T"))
    book.put(_booking("hub:branch"))
    index._merge(DAY, {"hq:kept": _booking("hq:kept"), "hq:new": _booking("hq:new")})
    assert {a.key for a in book.of_day(DAY)} == {"hq:kept", "hq:came", "hub:branch", "hq:new"}
