"""Check-in of booked customers at the kiosk, and the day's no-shows.

customer read at K1 -> Lobby.identify -> AppointmentDesk.check_in (today's appointments from the
cached record and the hub's own book)
  -> within [window_start - early_min, window_end + late_min]: a reserved ticket
     (appointment=True, the priority class) for the booked service, the advisor alerted
  -> later than that: an ordinary ticket (the tier's class), the kiosk says it was missed
  -> checked in already: the same ticket again, never a second one
one transaction: ticket, visit, `arrival` event and the appointment's check-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from branch_hub.alerts import Alert, HubAlerts
from branch_hub.ids import new_visit_id
from branch_hub.lobby.appointment_book import Appointment, AppointmentBook, arrival_of, from_record
from branch_hub.lobby.appointment_index import BookingIndex
from branch_hub.lobby.tickets import KioskTickets
from branch_hub.lobby.wire import TicketShown, ticket_wire
from branch_hub.push import PushEvent
from branch_hub.queue import Actor, QueueError, Ticket, TicketState, waiting_snapshot
from branch_hub.vocabulary import AppointmentArrival, AppointmentStatus, HubAlertKind
from branch_hub.vocabulary import EventKind as PushKind
from sync.cache import Customer

__all__ = ["AppointmentDesk", "CheckIn"]

log = logging.getLogger("branch_hub.lobby")

_RESERVED = {AppointmentArrival.EARLY, AppointmentArrival.ON_TIME, AppointmentArrival.LATE}
ROLE_ZH = {
    "wealth_manager": "理财经理",
    "account_manager": "客户经理",
    "lobby_manager": "大堂经理",
    "teller": "柜员",
    "branch_admin": "网点管理员",
}


@dataclass(frozen=True)
class CheckIn:
    """What the kiosk session carries about the customer's appointment (no personal data)."""

    appointment: Appointment
    ticket: TicketShown
    reserved: bool
    repeated: bool
    issued: Ticket | None = None  # the ticket issued by this read (None when repeated)
    events: tuple[PushEvent, ...] = ()  # committed with it, published once the kiosk is told

    def to_wire(self, config: Any) -> dict[str, Any]:
        """The session's `appointment` object."""
        service = config.service(self.appointment.service)
        return {
            "time": self.appointment.time,
            "window_end": self.appointment.end.strftime("%H:%M"),
            "service": service.code,
            "service_zh": service.name_zh,
            "service_en": service.name_en,
            "arrival": self.appointment.arrival,
            "reserved": self.reserved,
            "repeated": self.repeated,
            "ticket": self.ticket.to_wire(),
        }


class AppointmentDesk:
    """Today's appointments of the branch: check-in, staff bookings and no-shows."""

    def __init__(
        self,
        lobby: KioskTickets,
        book: AppointmentBook,
        alerts: HubAlerts,
        clock: Callable[[], datetime],
    ) -> None:
        self.lobby = lobby
        self.now = clock
        self.book = book
        self.alerts = alerts
        self.settings = lobby.config.appointments
        self.index: BookingIndex | None = None  # today's bookings of the whole cache (the hub's)
        # One check-in or booking at a time: two stations reading the same customer at once
        # must not both find the booking unchecked and issue two tickets.
        self.lock = threading.Lock()

    def local_now(self, now: datetime) -> datetime:
        """The hub's aware clock as a naive branch-local time (appointments' own terms)."""
        return now.astimezone(self.lobby.zone).replace(tzinfo=None)

    def _known(self, customer: Customer, day: str) -> list[Appointment]:
        """Today's appointments of the customer: HQ's from the record, the hub's book's state."""
        booked = {a.key: a for a in self.book.of_day(day) if a.customer_id == customer.customer_id}
        for item in customer.record.get("appointments") or []:
            found = from_record(item, customer.customer_id)
            if found is not None and found.day == day and found.key not in booked:
                booked[found.key] = found
        services = {s.code for s in self.lobby.config.services}
        return sorted((a for a in booked.values() if a.service in services), key=lambda a: a.start)

    def choose(self, known: list[Appointment], now: datetime) -> tuple[Appointment, str] | None:
        """The appointment this read checks in (or repeats), with the arrival; None: none."""
        early, late = self.settings.early_min, self.settings.late_min
        fresh = [(a, arrival_of(a, now, early, late)) for a in known if a.ticket_id is None]
        for appointment, arrival in fresh:
            if arrival in _RESERVED:
                return appointment, str(arrival)
        done = [a for a in known if a.ticket_id is not None]
        missed = [(a, r) for a, r in fresh if r == AppointmentArrival.MISSED]
        if missed and not (done and (done[-1].checked_in_at or "") > missed[-1][0].window_end):
            return missed[-1][0], AppointmentArrival.MISSED
        if done:
            latest = max(done, key=lambda a: a.checked_in_at or "")
            return latest, "repeat"
        return None

    async def check_in(self, station: str, customer: Customer, by: str) -> CheckIn | None:
        """Check a recognised customer in on today's appointment, if one is due (or was)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, self._check_in, station, customer, by)
        except Exception as exc:  # a broken booking must not stop the greeting
            log.warning("appointment check-in at %s failed: %s", station, type(exc).__name__)
            return None

    def _check_in(self, station: str, customer: Customer, by: str) -> CheckIn | None:
        with self.lock:
            return self._check_in_locked(station, customer, by)

    def _check_in_locked(self, station: str, customer: Customer, by: str) -> CheckIn | None:
        local = self.local_now(self.now())
        chosen = self.choose(self._known(customer, local.date().isoformat()), local)
        if chosen is None:
            return None
        appointment, arrival = chosen
        if arrival == "repeat":
            ticket = self._ticket(appointment.ticket_id or "")
            if ticket is None:
                return None
            wire = ticket_wire(self.lobby.config, ticket, self.lobby.queue.estimate(ticket.id))
            reserved = appointment.arrival != AppointmentArrival.MISSED
            return CheckIn(appointment, wire, reserved, repeated=True)
        return self._issue(station, customer, by, appointment, arrival)

    def _ticket(self, ticket_id: str) -> Ticket | None:
        return next((t for t in self.lobby.queue.tickets() if t.id == ticket_id), None)

    def _issue(
        self, station: str, customer: Customer, by: str, appointment: Appointment, arrival: str
    ) -> CheckIn:
        """One transaction: the ticket, its visit, the check-in and the push events."""
        lobby = self.lobby
        reserved = arrival != AppointmentArrival.MISSED
        tier = None if reserved or not lobby._known_tier(customer.tier) else customer.tier
        visit_id = new_visit_id()
        with lobby.db.transaction():
            try:
                issued = lobby.queue.issue(
                    appointment.service,
                    Actor(None, station),
                    tier=tier,
                    appointment=reserved,
                    visit_ref=visit_id,
                ).ticket
            except QueueError as exc:
                raise RuntimeError(f"the queue refused the appointment's ticket: {exc}") from exc
            assert issued is not None  # noqa: S101 (issue always returns its ticket)
            wire = ticket_wire(lobby.config, issued, lobby.queue.estimate(issued.id))
            visit = lobby._visit_of(issued, visit_id, station, customer, customer.tier, by)
            lobby.visits.add(visit)
            status = AppointmentStatus.CHECKED_IN if reserved else AppointmentStatus.NO_SHOW
            done = replace(
                appointment,
                status=status,
                arrival=arrival,
                ticket_id=issued.id,
                checked_in_at=self.local_now(issued.issued_at).isoformat(timespec="seconds"),
            )
            self.book.put(done)
            record = customer.record
            lobby.watch_sms(issued, record)
            events = [
                lobby.stream.append(PushKind.ARRIVAL, lobby._arrival(visit, issued, wire, record)),
                lobby.stream.append(PushKind.WAITING_CHANGED, _waiting(lobby)),
                *lobby._alert_manager(visit, wire, record),
                *self._alert_advisor(done, visit.visit_id, visit.day, visit.arrived_at, wire),
            ]
        return CheckIn(done, wire, reserved, repeated=False, issued=issued, events=tuple(events))

    def _alert_advisor(
        self, appointment: Appointment, visit_id: str, day: str, at: str, wire: TicketShown
    ) -> list[PushEvent]:
        """A named advisor hears of it as the own manager does (kept until dismissed)."""
        if not appointment.advisor or appointment.arrival == AppointmentArrival.MISSED:
            return []
        self.lobby.handoffs.alert_manager(appointment.advisor, visit_id, day, at)
        data = {
            "visit_id": visit_id,
            "staff_id": appointment.advisor,
            "ticket": wire.number,
            "salutation_zh": None,
            "at": at,
        }
        return [self.lobby.stream.append(PushKind.MANAGER_ALERT, data)]

    async def announce(self, station: str, checkin: CheckIn) -> None:
        """After the session started: push the events, alert the advisor's role, print."""
        lobby = self.lobby
        for event in checkin.events:
            lobby.stream.publish(event)
        if checkin.issued is not None:
            lobby.menu_changed()
        if checkin.reserved and checkin.issued is not None:
            await self.alerts.raise_alert(arrived_alert(lobby.config, checkin))
        if checkin.issued is not None:
            await lobby._print(station, checkin.issued, checkin.ticket)

    # -- no-shows ---------------------------------------------------------------------------
    def sweep(self, now: datetime) -> list[Appointment]:
        """Mark today's unchecked appointments past window_end + late_min as no-shows."""
        local = self.local_now(now)
        return self.book.mark_no_shows(local.date().isoformat(), local, self.settings.late_min)

    async def run(self, stop: asyncio.Event) -> None:
        """Every `[appointments] sweep_interval_s`: learn today's bookings from the cache (once
        per cache version), mark no-shows, clear the alerts of tickets called."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                if self.index is not None:
                    await self.index.index(self.local_now(self.now()).date().isoformat())
                await loop.run_in_executor(None, self.sweep, self.now())
                await self._clear_called()
            except Exception as exc:  # a bad round must not end the sweeps
                log.warning("appointment sweep failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.sweep_interval_s)

    async def _clear_called(self) -> None:
        tickets = await asyncio.get_running_loop().run_in_executor(None, self.lobby.queue.tickets)
        waiting = {t.id for t in tickets if t.state is TicketState.WAITING}
        for alert in self.alerts.active():
            ticket_id = alert.key.removeprefix("appointment_arrived:")
            if alert.kind is HubAlertKind.APPOINTMENT_ARRIVED and ticket_id not in waiting:
                await self.alerts.clear(alert.key)


def _waiting(lobby: KioskTickets) -> dict[str, Any]:
    return dict(waiting_snapshot(lobby.queue))


def arrived_alert(config: Any, checkin: CheckIn) -> Alert:
    """The hub alert for the advisor's role: time, service, ticket; never the customer."""
    a, t = checkin.appointment, checkin.ticket
    role = a.advisor_role or ""
    who_zh = ROLE_ZH.get(role, "接待人员")
    who_en = role.replace("_", " ") or "staff"
    return Alert(
        HubAlertKind.APPOINTMENT_ARRIVED,
        f"appointment_arrived:{t.id}",
        f"A booked customer checked in: {a.time} {t.service_en}, ticket {t.number} "
        f"({a.arrival}); for the {who_en}.",
        f"预约客户已签到：{a.time} {t.service_zh}，号码 {t.number}，请{who_zh}接待。",
    )
