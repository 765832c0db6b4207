"""Same-day appointments from the tablet: the windows on offer, the hub calls, their answers.

No window here: the booking sheet (tablet/booking_sheet.py) and the day's list
(tablet/booking_list.py) draw what `Bookings` holds. Booking and listing run on the app's asyncio
loop with `AsyncHubClient`; their answers are applied on the UI thread by `apply_booking`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from branch_hub.client import AsyncHubClient, Role
from branch_hub.client.models import AppointmentItem, AppointmentList, AppointmentRequest
from branch_hub.vocabulary import AppointmentStatus
from tablet.i18n import N_, _, either, language, said
from tablet.worker import once_more_async

__all__ = [
    "ADVISOR_ROLES",
    "BOOKERS",
    "BOOKING_TAGS",
    "Bookings",
    "apply_booking",
    "book",
    "end_times",
    "hours_today",
    "load_day",
    "service_label",
    "start_times",
    "status_text",
]

STEP_MIN = 15  # windows start and end on the quarter hour
LONGEST_MIN = 120  # the end times offered reach this far past the start
BOOKERS = frozenset({Role.LOBBY_MANAGER, Role.WEALTH_MANAGER, Role.ACCOUNT_MANAGER})
ADVISOR_ROLES: tuple[Role | None, ...] = (None, Role.WEALTH_MANAGER, Role.ACCOUNT_MANAGER)
BOOKING_TAGS = frozenset({"book", "appointments"})
_STATUS = {
    AppointmentStatus.BOOKED: N_("Expected"),
    AppointmentStatus.CHECKED_IN: N_("Checked in"),
    AppointmentStatus.NO_SHOW: N_("Did not come"),
}


@dataclass
class Bookings:
    """What the logged-in staff member booked and the day's list, in memory only."""

    clock: Callable[[], datetime] = datetime.now  # the tablet's local time is the branch's
    day: AppointmentList | None = None  # the day's list, as last fetched
    booked: AppointmentItem | None = None  # the last booking the hub confirmed
    booked_for: str | None = None  # that booking's request id (the sheet that sent it closes)

    def clear(self) -> None:
        """Forget everything (logout)."""
        self.day, self.booked, self.booked_for = None, None, None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")  # the hub's HH:MM, 24:00 for the day's end
    return int(hours) * 60 + int(minutes)


def _quarter_after(minutes: int) -> int:
    return -(-minutes // STEP_MIN) * STEP_MIN


def hours_today(bookings: Bookings) -> AppointmentList | None:
    """The day's list the tablet holds, if it is today's: it carries today's opening hours."""
    day = bookings.day
    return day if day is not None and day.date == bookings.clock().date().isoformat() else None


def start_times(now: datetime, opens: str, closes: str) -> list[str]:
    """Every quarter hour from opening or the next one after `now` that leaves a window before
    closing (the hub's hours for today)."""
    minutes = now.hour * 60 + now.minute + (1 if now.second or now.microsecond else 0)
    first = _quarter_after(max(minutes, _minutes(opens)))
    last = min(_minutes(closes), 24 * 60 - 1) - STEP_MIN
    return [_hhmm(m) for m in range(first, last + 1, STEP_MIN)]


def end_times(start: str, closes: str) -> list[str]:
    """The quarter hours a window starting at `start` may end at (by closing, two hours at most)."""
    begin = _minutes(start)
    last = min(
        _minutes(closes), 24 * 60 - 1, begin + LONGEST_MIN
    )  # 23:59 at the latest on the wire
    return [_hhmm(m) for m in range(begin + STEP_MIN, last + 1, STEP_MIN)]


def service_label(code: str, name_zh: str, name_en: str) -> str:
    """A service's name in the language shown."""
    return (name_zh if language().startswith("zh") else name_en) or code


def status_text(item: AppointmentItem) -> str:
    """How an appointment stands: 待到店, 已签到 or 未到."""
    words = _STATUS.get(item.status)
    return _(words) if words else str(item.status)


def book(tablet: Any, visit_id: str, service: str, start: str, end: str, role: Role | None) -> str:
    """Send the booking on the app's loop; returns its request id (its answer names it)."""
    request = AppointmentRequest(visit_id, service, start, end, role)

    async def send(client: AsyncHubClient, wanted: AppointmentRequest) -> Any:
        return wanted.request_id, await client.book_appointment(wanted)

    tablet._acommand("book", lambda: request, send)
    return request.request_id


def load_day(tablet: Any) -> None:
    """Fetch today's appointments on the app's loop."""
    tablet.activity()

    async def job() -> AppointmentList:
        client = tablet._aclient()
        return await once_more_async(client.appointments)

    tablet.submit("appointments", job)


def apply_booking(tablet: Any, tag: str, result: Any) -> None:
    """A booking confirmed (say so on the status line) or the day's list arrived."""
    bookings: Bookings = tablet.bookings
    if tag == "appointments" and isinstance(result, AppointmentList):
        bookings.day = result
    elif tag == "book":
        request_id, item = result
        bookings.booked, bookings.booked_for = item, request_id
        bookings.day = None  # the list is fetched again when it is next shown
        tablet.message = said(
            N_("Booked {start}–{end} {service}"),
            start=item.time,
            end=item.window_end,
            service=either(item.service_en, item.service_zh),
        )
