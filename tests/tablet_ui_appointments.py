"""Same-day appointments on the tablet under Xvfb against a real hub (run by tests/test_tablet_ui.py).

A lobby manager opens a recognised customer's brief, books 15:30–16:00 wealth advice for a wealth
manager through the booking sheet, and sees it in today's appointments from the lobby board; a
second, overlapping booking is refused with the hub's Chinese words. The hub's and the tablet's
clocks are set to 10:00 branch time today, so the window is in the future whenever this runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

import pytest

from tests.tablet_ui_scenarios import (
    SHOTS,
    Device,
    Rig,
    check_touch_targets,
    harness,
    press,
    rig,
    tap_row,
)

__all__ = ["harness", "rig"]

BOOKED = "已预约 15:30–16:00 理财咨询"
OVERLAP = "该客户在此时段已有预约。"


@pytest.fixture(scope="module")
def morning(rig: Rig) -> Iterator[datetime]:
    """10:00 today in the branch's time, on the hub's appointment desk (naive: the tablet's)."""
    hub: Any = rig.hub.hub
    desk = hub.appointments.desk
    zone = hub.lobby.zone
    today = datetime.now(zone).date()
    local = datetime.combine(today, time(10, 0))
    real = desk.now
    desk.now = lambda: local.replace(tzinfo=zone).astimezone(UTC)
    try:
        yield local
    finally:
        desk.now = real


def _texts(device: Device) -> list[str]:
    """The texts of the screen on show (not the frame's banners)."""
    return [str(getattr(w, "text", "")) for w in device.view.screen.walk()]


def _open_brief(rig: Rig, device: Device) -> str:
    """A recognised customer arrives; the lobby manager opens their brief; returns the visit."""
    customer = next(r for r in rig.rows[::-1] if r["cards"] and not r.get("appointments"))
    number = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]["number"]
    board = device.tablet.state.board
    rig.until(lambda: any(v.ticket == number for v in board.visits.values()), "the arrival")
    visit_id: str = next(v.visit_id for v in board.visits.values() if v.ticket == number)
    rig.until(lambda: device.view.row_for(visit_id) is not None, "the row drawn")
    tap_row(rig, device.view, visit_id)
    state = device.tablet.state
    rig.until(lambda: state.brief is not None and state.brief.visit_id == visit_id, "the brief")
    rig.until(lambda: "book" in device.view.buttons, "the Book button")
    return visit_id


def _fill_sheet(rig: Rig, device: Device, start: str, end: str) -> None:
    press(rig, device.view, "book")
    rig.until(lambda: "book_service:wealth" in device.view.buttons, "the sheet with services")
    rig.until(lambda: f"book_start:{start}" in device.view.buttons, "today's hours from the hub")
    for key in ("book_service:wealth", f"book_start:{start}", f"book_end:{end}"):
        press(rig, device.view, key)
    press(rig, device.view, "book_role:wealth_manager")
    rig.until(lambda: not device.view.buttons["book_send"].disabled, "the Book button ready")


def test_lobby_manager_books_a_same_day_visit(rig: Rig, morning: datetime) -> None:
    lobby = rig.device("APT-LM1")
    rig.login("APT-LM1", "lm1")
    lobby.tablet.bookings.clock = lambda: morning
    visit_id = _open_brief(rig, lobby)
    _fill_sheet(rig, lobby, "15:30", "16:00")
    assert "09:45" not in " ".join(lobby.view.buttons), "no window before now"
    starts = [key for key in lobby.view.buttons if key.startswith("book_start:")]
    assert starts[-1] == "book_start:16:45", "the last window ends at the hub's closing, 17:00"
    check_touch_targets(lobby.view)
    rig._export(lobby.view, SHOTS / "tablet-appointment-book.png")  # the sheet is this view's
    press(rig, lobby.view, "book_send")
    rig.until(lambda: lobby.tablet.message == BOOKED, "the booking confirmed")
    rig.until(lambda: "book_send" not in lobby.view.buttons, "the sheet closed")
    rig.until(lambda: lobby.view.status_text == BOOKED, "said on the status line")
    booked = lobby.tablet.bookings.booked
    assert booked is not None
    assert (booked.time, booked.window_end, booked.service) == ("15:30", "16:00", "wealth")
    assert booked.advisor_role == "wealth_manager"
    rig.pending_visit = visit_id  # type: ignore[attr-defined]

    # The same customer cannot be booked twice in one window: the hub's words, the sheet open.
    _fill_sheet(rig, lobby, "15:45", "16:15")
    press(rig, lobby.view, "book_send")
    rig.until(lambda: lobby.tablet.message == OVERLAP, "the overlap refused")
    rig.until(lambda: lobby.view.status_text == OVERLAP, "the refusal on the status line")
    rig.until(lambda: not lobby.view.buttons["book_send"].disabled, "the sheet open to pick again")
    press(rig, lobby.view, "book_cancel")
    rig.until(lambda: "book_send" not in lobby.view.buttons, "the sheet closed")


def test_todays_appointments_from_the_lobby_board(rig: Rig) -> None:
    lobby = rig.show("APT-LM1")
    press(rig, lobby.view, "to_board")
    rig.until(lambda: lobby.view.drawn_screen == "board", "the lobby board")
    press(rig, lobby.view, "to_appointments")
    rig.until(lambda: lobby.view.drawn_screen == "appointments", "the appointments screen")
    rig.until(lambda: lobby.tablet.bookings.day is not None, "the day's list fetched")
    rig.harness.frames(3)
    day = lobby.tablet.bookings.day
    assert day is not None
    ours = [a for a in day.appointments if a.channel == "branch"]
    assert [(a.time, a.window_end, a.service, a.status) for a in ours] == [
        ("15:30", "16:00", "wealth", "booked")
    ], "one booking: the overlapping one was refused"
    texts = _texts(lobby)
    for shown in (
        "15:30–16:00",
        "理财咨询",
        "理财经理",
        "待到店",
        "今日预约：共 1 个，待到店 1 个",
    ):
        assert shown in texts, shown
    names = {v.salutation_zh for v in lobby.tablet.state.board.visits.values() if v.salutation_zh}
    assert not any(n in t for n in names for t in texts), "no customer on the list"
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-appointments.png")
    press(rig, lobby.view, "to_board")
    rig.until(lambda: lobby.view.drawn_screen == "board", "back to the board")
