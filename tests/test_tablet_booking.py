"""The tablet's same-day booking, without a window: the windows on offer, and what an answer shows."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from branch_hub.client.models import AppointmentItem, AppointmentList
from branch_hub.vocabulary import AppointmentStatus
from tablet.booking import (
    Bookings,
    apply_booking,
    end_times,
    hours_today,
    start_times,
    status_text,
)
from tablet.i18n import EN, use_language


def _item(status: AppointmentStatus = AppointmentStatus.BOOKED) -> AppointmentItem:
    return AppointmentItem(
        key="hub:1",
        time="15:30",
        window_end="16:00",
        service="wealth",
        service_zh="理财咨询",
        service_en="Wealth advice",
        channel="branch",
        advisor_role="wealth_manager",
        for_me=False,
        status=status,
        arrival=None,
        ticket=None,
    )


def test_windows_start_on_the_next_quarter_hour_and_end_by_closing() -> None:
    starts = start_times(datetime(2026, 3, 2, 15, 20, 5), "09:00", "17:00")
    assert starts == ["15:30", "15:45", "16:00", "16:15", "16:30", "16:45"]
    assert start_times(datetime(2026, 3, 2, 15, 30), "09:00", "17:00")[0] == "15:30"
    assert start_times(datetime(2026, 3, 2, 15, 30, 1), "09:00", "17:00")[0] == "15:45"
    assert start_times(datetime(2026, 3, 2, 16, 50), "09:00", "17:00") == []
    assert end_times("15:30", "17:00") == [
        "15:45", "16:00", "16:15", "16:30", "16:45", "17:00"
    ]  # fmt: skip
    assert end_times("09:00", "17:00")[-1] == "11:00", "two hours at most"


def test_the_windows_follow_the_hubs_hours_for_today() -> None:
    early = datetime(2026, 3, 7, 7, 5)  # before opening: the first window starts at opening
    assert start_times(early, "09:10", "12:00")[:2] == ["09:15", "09:30"]
    assert start_times(early, "09:10", "12:00")[-1] == "11:45"
    assert end_times("11:00", "12:00") == ["11:15", "11:30", "11:45", "12:00"]
    late = datetime(2026, 3, 7, 22, 50)  # open all day: the last end is 23:45, a wire time
    assert start_times(late, "00:00", "24:00") == ["23:00", "23:15", "23:30"]
    assert end_times("23:30", "24:00") == ["23:45"]
    assert start_times(datetime(2026, 3, 7, 12, 0), "09:00", "12:00") == []


def test_the_sheet_reads_todays_hours_only_from_todays_list() -> None:
    bookings = Bookings(clock=lambda: datetime(2026, 3, 2, 10, 0))
    assert hours_today(bookings) is None, "not fetched yet"
    bookings.day = AppointmentList("2026-03-01", (), "09:00", "17:00")
    assert hours_today(bookings) is None, "yesterday's list: fetched again"
    bookings.day = AppointmentList("2026-03-02", (), "09:00", "16:00")
    assert hours_today(bookings) is bookings.day
    closed = AppointmentList.from_wire({"date": "2026-03-02", "appointments": []})
    assert (closed.opens, closed.closes) == (None, None)


def test_a_booking_is_said_in_chinese_and_the_list_is_kept_until_logout() -> None:
    tablet = SimpleNamespace(bookings=Bookings(), message="")
    apply_booking(tablet, "book", ("req-1", _item()))
    assert tablet.message == "已预约 15:30–16:00 理财咨询"
    assert tablet.bookings.booked_for == "req-1"
    day = AppointmentList("2026-03-02", (_item(), _item(AppointmentStatus.NO_SHOW)))
    apply_booking(tablet, "appointments", day)
    assert tablet.bookings.day is day
    assert [status_text(a) for a in day.appointments] == ["待到店", "未到"]
    assert status_text(_item(AppointmentStatus.CHECKED_IN)) == "已签到"
    try:
        use_language(EN)
        assert str(tablet.message.remake()) == "Booked 15:30–16:00 Wealth advice"
    finally:
        use_language("zh_CN")
    tablet.bookings.clear()
    assert tablet.bookings.day is None
    assert tablet.bookings.booked is None
