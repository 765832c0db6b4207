"""Staff book same-day appointments on the tablet and list the day's appointments.

POST /appointments {visit_id, service, window_start, window_end, advisor_role?, request_id}
  -> the visit's customer (sealed in the visit; the tablet never holds a customer id)
  -> checks: a known customer, a window that ends after it starts, is not over and lies inside
     today's opening hours ([branch.opening_hours]), no overlap with the customer's other
     appointments today (HQ's from the record and the hub's book)
  -> a sealed row in the book; the customer checks in at the kiosk like any booked customer.
A retry with the same request id finds the same booking (its key comes from the request id).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from typing import Any

from branch_hub.client.models import AppointmentItem, AppointmentList, AppointmentRequest
from branch_hub.context import RequestContext
from branch_hub.lobby.appointment_book import Appointment, from_record
from branch_hub.lobby.appointment_errors import (
    AppointmentInPast,
    AppointmentOutsideHours,
    AppointmentOverlap,
    AppointmentWindow,
    UnknownCustomer,
)
from branch_hub.lobby.appointments import AppointmentDesk
from branch_hub.lobby.errors import UnknownService, UnknownVisit
from branch_hub.lobby.visits import Visit
from branch_hub.vocabulary import AppointmentArrival, AppointmentStatus

__all__ = ["StaffAppointments"]

Records = Callable[[Visit], Awaitable[dict[str, Any] | None]]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class StaffAppointments:
    """The tablet's side of appointments: same-day bookings and the day's list."""

    def __init__(self, desk: AppointmentDesk, records: Records) -> None:
        self.desk = desk
        self.records = records

    def _today(self) -> datetime:
        return self.desk.local_now(self.desk.now())

    async def book(self, context: RequestContext, request: AppointmentRequest) -> AppointmentItem:
        """Book a same-day appointment for the customer of one of today's visits."""
        config = self.desk.lobby.config
        if request.service not in {s.code for s in config.services}:
            raise UnknownService(f"no service {request.service!r} at this branch")
        now = self._today()
        start = datetime.combine(now.date(), time.fromisoformat(request.window_start))
        end = datetime.combine(now.date(), time.fromisoformat(request.window_end))
        if end <= start:
            raise AppointmentWindow("the window must end after it starts")
        if end <= now:
            raise AppointmentInPast("the window has already ended")
        self._within_hours(start, end)
        loop = asyncio.get_running_loop()
        visit = await loop.run_in_executor(None, self.desk.lobby.visits.get, request.visit_id)
        if visit is None or visit.day != now.date().isoformat():
            raise UnknownVisit("no such visit today")
        if visit.customer_id is None:
            raise UnknownCustomer("the visit's customer is not known to the branch")
        key = (
            "hub:"
            + hashlib.sha256(f"{context.staff_id}/{request.request_id}".encode()).hexdigest()[:20]
        )
        found = await loop.run_in_executor(None, self.desk.book.get, key)
        if found is not None:  # a retry of the same request: the booking it made
            return self.item(found, context.staff_id)
        booking = Appointment(
            key=key,
            day=now.date().isoformat(),
            customer_id=visit.customer_id,
            service=request.service,
            window_start=start.isoformat(timespec="minutes"),
            window_end=end.isoformat(timespec="minutes"),
            channel="branch",
            advisor_role=request.advisor_role or context.role,
            advisor=None if request.advisor_role else context.staff_id,
        )
        record = await self.records(visit)
        await loop.run_in_executor(None, self._check_and_put, booking, record)
        return self.item(booking, context.staff_id)

    def hours(self, day: date) -> tuple[str, str] | None:
        """The day's opening hours as (opens, closes) HH:MM, or None when the branch is closed."""
        window = self.desk.lobby.config.branch.opening_hours.on(day)
        return None if window is None else (_hhmm(window[0]), _hhmm(window[1]))

    def _within_hours(self, start: datetime, end: datetime) -> None:
        """Refuse a window that is not inside the day's opening hours."""
        window = self.desk.lobby.config.branch.opening_hours.on(start.date())
        if window is None:
            raise AppointmentOutsideHours("the branch is closed today")
        opens, closes = window
        if start.hour * 60 + start.minute < opens or end.hour * 60 + end.minute > closes:
            raise AppointmentOutsideHours(
                f"the branch is open {_hhmm(opens)}-{_hhmm(closes)} today"
            )

    def _check_and_put(self, booking: Appointment, record: dict[str, Any] | None) -> None:
        """Refuse an overlap with the customer's other appointments today, else store (executor)."""
        with self.desk.lock:
            self._check_and_put_locked(booking, record)

    def _check_and_put_locked(self, booking: Appointment, record: dict[str, Any] | None) -> None:
        others = [
            a for a in self.desk.book.of_day(booking.day) if a.customer_id == booking.customer_id
        ]
        for item in (record or {}).get("appointments") or []:
            hq = from_record(item, booking.customer_id)
            if hq is not None and hq.day == booking.day:
                others.append(hq)
        for other in others:
            if other.status == AppointmentStatus.NO_SHOW:
                continue
            if other.start < booking.end and booking.start < other.end:
                raise AppointmentOverlap("the customer already has an appointment in that window")
        self.desk.book.put(booking)

    def item(self, a: Appointment, staff_id: str | None) -> AppointmentItem:
        """The list's view of an appointment: no customer, name or id."""
        service = self.desk.lobby.config.service(a.service)
        return AppointmentItem(
            key=a.key,
            time=a.time,
            window_end=a.end.strftime("%H:%M"),
            service=service.code,
            service_zh=service.name_zh,
            service_en=service.name_en,
            channel=a.channel,
            advisor_role=a.advisor_role,
            for_me=a.advisor is not None and a.advisor == staff_id,
            status=AppointmentStatus(a.status),
            arrival=AppointmentArrival(a.arrival) if a.arrival else None,
            ticket=self._number(a.ticket_id),
        )

    def _number(self, ticket_id: str | None) -> str | None:
        # a ticket id is DAY-NUMBER (queue numbering): the number is what the board shows
        return ticket_id.rsplit("-", 1)[-1] if ticket_id else None

    async def listing(self, context: RequestContext, day: str | None) -> AppointmentList:
        """The day's appointments the hub knows (default today), by time; no-shows swept first."""
        today = self._today().date().isoformat()
        day = day or today
        loop = asyncio.get_running_loop()
        if day == today:
            await loop.run_in_executor(None, self.desk.sweep, self.desk.now())
        booked = await loop.run_in_executor(None, self.desk.book.of_day, day)
        known = {s.code for s in self.desk.lobby.config.services}
        items = [self.item(a, context.staff_id) for a in booked if a.service in known]
        hours = self.hours(date.fromisoformat(day))
        opens, closes = hours if hours is not None else (None, None)
        ordered = tuple(sorted(items, key=lambda i: (i.time, i.key)))
        return AppointmentList(day, ordered, opens, closes)
