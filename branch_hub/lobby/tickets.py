"""The kiosk's ticket: the menu, issuing (idempotent per request id), the visit, printing.

POST /kiosk/tickets {service, session_id, request_id}
  -> one transaction: QueueStore.issue (priority from the tier), VisitStore.add (sealed
     references), the `arrival` and `waiting_changed` events
  -> the push, then the printer (a printer fault still issues the ticket)
  -> the session ends: the customer is forgotten.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.config import BranchConfig
from branch_hub.database import HubDatabase
from branch_hub.ids import new_visit_id, visit_id_for_request
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.devices import StationDevices
from branch_hub.lobby.errors import QueueUnavailable, SessionExpired, UnknownService
from branch_hub.lobby.handoffs import HandoffBook
from branch_hub.lobby.read_journal import ReadJournal
from branch_hub.lobby.sessions import KioskSession, KioskSessions
from branch_hub.lobby.visits import Visit, VisitStore
from branch_hub.lobby.wire import TicketShown, ticket_wire
from branch_hub.push import PushEvent
from branch_hub.queue import (
    Actor,
    QueueError,
    QueueStore,
    Ticket,
    WaitEstimate,
    menu_estimates,
    waiting_snapshot,
)
from branch_hub.stream import EventStream
from branch_hub.vocabulary import EventKind as PushKind
from branch_hub.vocabulary import KioskMessage
from sync.cache import Customer

__all__ = ["KioskTickets", "PrintOutcome", "TicketIssued"]

log = logging.getLogger("branch_hub.lobby")


@dataclass(frozen=True)
class PrintOutcome:
    """What the kiosk learns about printing: ok, or one problem word."""

    ok: bool
    problem: str | None

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"ok": self.ok, "problem": self.problem}


def _print_problem(result: Any) -> str:
    problems: set[str] = set()
    for status in (result.before, result.after):
        if status is not None:
            problems.update(status.problems)
    if problems & {"paper_end", "paper_end_stop"}:
        return "paper_out"
    if "cover_open" in problems:
        return "cover_open"
    if "offline" in problems or result.before is None:
        return "offline"
    return "error"


@dataclass(frozen=True)
class TicketIssued:
    """The kiosk's answer: the ticket, how printing went, and whether it was issued before."""

    ticket: TicketShown
    printed: PrintOutcome
    replayed: bool = False

    def to_wire(self) -> dict[str, Any]:
        """JSON form (`replayed` only on a repeated request)."""
        out = {"ticket": self.ticket.to_wire(), "print": self.printed.to_wire()}
        return out | {"replayed": True} if self.replayed else out


class KioskTickets:
    """The part of the lobby that issues and prints tickets (mixed into `Lobby`)."""

    config: BranchConfig
    db: HubDatabase
    queue: QueueStore
    visits: VisitStore
    briefing: Briefing
    handoffs: HandoffBook
    stream: EventStream
    sessions: KioskSessions
    reads: ReadJournal | None
    stations: dict[str, StationDevices]
    zone: ZoneInfo
    device_conditions: dict[tuple[str, str], str]  # (station, device) -> what is wrong now
    guest_pass: Callable[[Ticket], str] | None = None  # a new pass's link, when phones may look
    sms_watch: Callable[[Ticket, dict[str, Any] | None], None] | None = None  # texts, if on

    async def alert(self, station: str, device: str, condition: str, cleared: bool = False) -> None:
        """Push a device_alert event and tell the station's kiosk."""
        data = {"station": station, "device": device, "condition": condition, "cleared": cleared}
        if cleared:
            self.device_conditions.pop((station, device), None)
        else:
            self.device_conditions[(station, device)] = condition
        self.sessions.tell(station, KioskMessage.DEVICE_ALERT, data)
        await self.stream.emit(PushKind.DEVICE_ALERT, data)

    def menu_changed(self) -> None:
        """Tell every kiosk that waiting counts changed (they fetch /kiosk/menu again)."""
        self.sessions.tell_all(KioskMessage.MENU_CHANGED, {})

    def menu(self) -> dict[str, Any]:
        """Branch and services with waiting counts and the wait a ticket issued now would get.

        Blocking (executor). The range comes from the same estimator as the ticket's own, so the
        menu and the ticket printed a moment later agree.
        """
        board = self.queue.dashboard()
        ranges = menu_estimates(board)
        services = []
        for service in self.config.services:
            wait = ranges.get(service.code)
            services.append(
                {
                    "code": service.code,
                    "name_zh": service.name_zh,
                    "name_en": service.name_en,
                    "prefix": service.prefix,
                    "waiting": board.waiting.get(service.code, 0),
                    "wait_min": list(wait.whole_minutes()) if wait else [0, 0],
                }
            )
        branch = self.config.branch
        return {
            "branch": {"id": branch.id, "name_zh": branch.name_zh, "name_en": branch.name_en},
            "services": services,
        }

    async def issue_ticket(
        self, station: str, service: str, session_id: str | None, request_id: str | None = None
    ) -> TicketIssued:
        """Issue, persist, print and announce a ticket for the station's customer (or a walk-in).

        With a `request_id` the call is idempotent for the business day: the visit id is derived
        from it and committed with the ticket, so a retry after a lost answer (even across a hub
        restart) finds that ticket and gets it back (reprinted) instead of a second one.
        """
        try:
            self.config.service(service)
        except KeyError:
            raise UnknownService(f"no service {service!r} at this branch") from None
        loop = asyncio.get_running_loop()
        if request_id is not None:
            visit_ref = visit_id_for_request(station, request_id)
            found = await loop.run_in_executor(None, self._issued_for, visit_ref)
            if found is not None:
                return await self._replay(station, visit_ref, found)
        session: KioskSession | None = None
        if session_id is not None:
            session = self.sessions.current(station)
            if session is None or session.session_id != session_id:
                raise SessionExpired("the kiosk session has ended")
        customer = session.customer if session is not None else None
        by = session.identified_by if session is not None else None
        read_id = session.read_id if session is not None else None
        if session is not None:
            # One ticket per session: a retried or doubled request finds it ended (409). Ending
            # it forgets the customer, so what the ticket needs was taken above.
            self.sessions.end(station, "ticket_issued")
        visit_id = visit_ref if request_id is not None else new_visit_id()
        try:
            ticket, wire, events = await loop.run_in_executor(
                None, self._commit, station, service, visit_id, customer, by, read_id
            )
        except QueueUnavailable:
            self._forget(station, read_id)  # the session has ended without a ticket
            raise
        # The staff hear first: the printer's status round trips would compete with the push.
        for event in events:
            self.stream.publish(event)
        self.menu_changed()
        printed = await self._print(station, ticket, wire)
        return TicketIssued(wire, printed, replayed=False)

    def _commit(
        self,
        station: str,
        service: str,
        visit_id: str,
        customer: Customer | None,
        by: str | None,
        read_id: str | None = None,
    ) -> tuple[Ticket, TicketShown, list[PushEvent]]:
        """One transaction: the ticket, its visit, its push events and the end of the read it
        came from (read_journal.py), or none of them."""
        tier = customer.tier if customer is not None and self._known_tier(customer.tier) else None
        with self.db.transaction():
            if self.reads is not None and read_id is not None:
                self.reads.finish(station, read_id)
            try:
                issued = self.queue.issue(
                    service, Actor(None, station), tier=tier, visit_ref=visit_id
                ).ticket
            except QueueError as exc:
                raise QueueUnavailable(f"the queue refused the ticket: {exc}") from exc
            if issued is None:  # pragma: no cover - issue always returns its ticket
                raise QueueUnavailable("the queue did not issue a ticket")
            wire = ticket_wire(self.config, issued, self.queue.estimate(issued.id))
            visit = self._visit_of(issued, visit_id, station, customer, tier, by)
            self.visits.add(visit)
            record = customer.record if customer else None
            self.watch_sms(issued, record)
            events = [
                self.stream.append(PushKind.ARRIVAL, self._arrival(visit, issued, wire, record)),
                self.stream.append(PushKind.WAITING_CHANGED, waiting_snapshot(self.queue)),
            ]
            events += self._alert_manager(visit, wire, record)
            shown = self._with_pass(issued, wire)  # not in the events: staff need no pass
        return issued, shown, events

    def watch_sms(self, ticket: Ticket, record: dict[str, Any] | None) -> None:
        """In the ticket's transaction: watch it for a text if its customer agreed to texts."""
        if self.sms_watch is not None:
            self.sms_watch(ticket, record)

    def _forget(self, station: str, read_id: str | None) -> None:
        """Forget a read that ended without a ticket (Lobby, in arrival.py, does it)."""

    def _with_pass(self, ticket: Ticket, wire: TicketShown) -> TicketShown:
        """The ticket as the kiosk shows and prints it: its QR a new guest pass, if any (db)."""
        return wire if self.guest_pass is None else replace(wire, qr=self.guest_pass(ticket))

    def _alert_manager(
        self, visit: Visit, wire: TicketShown, record: dict[str, Any] | None
    ) -> list[PushEvent]:
        """The customer's own manager hears of the arrival, kept until dismissed (same commit)."""
        manager = (record or {}).get("relationship_manager")
        if not isinstance(manager, str) or not manager:
            return []
        self.handoffs.alert_manager(manager, visit.visit_id, visit.day, visit.arrived_at)
        greeting = self.briefing.greeting(record)
        data = {
            "visit_id": visit.visit_id,
            "staff_id": manager,
            "ticket": wire.number,
            "salutation_zh": greeting["salutation_zh"] if greeting else None,
            "at": visit.arrived_at,
        }
        return [self.stream.append(PushKind.MANAGER_ALERT, data)]

    def _visit_of(
        self,
        ticket: Ticket,
        visit_id: str,
        station: str,
        customer: Customer | None,
        tier: str | None,
        identified_by: str | None,
    ) -> Visit:
        return Visit(
            visit_id=visit_id,
            day=ticket.day.isoformat(),
            ticket_id=ticket.id,
            station=station,
            arrived_at=ticket.issued_at.isoformat(),
            walk_in=customer is None,
            customer_id=customer.customer_id if customer else None,
            tier=tier,
            priority=ticket.priority,
            identified_by=identified_by,
        )

    def _arrival(
        self, visit: Visit, ticket: Ticket, wire: TicketShown, record: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The arrival event's data: the ticket, tier and salutation, never a name or number."""
        greeting = self.briefing.greeting(record)
        return {
            "visit_id": visit.visit_id,
            "ticket": wire.to_wire(),
            "tier": visit.tier,
            "priority": ticket.priority,
            "salutation_zh": greeting["salutation_zh"] if greeting else None,
            "walk_in": visit.walk_in,
            "station": visit.station,
            "summary": self.briefing.summary(record, ticket.issued_at.astimezone(self.zone).date()),
        }

    def _issued_for(self, visit_ref: str) -> tuple[Ticket, WaitEstimate, bool] | None:
        """Today's ticket committed under this visit reference, with its estimate and whether
        its visit record exists (executor)."""
        ticket = next((t for t in self.queue.tickets() if t.visit_ref == visit_ref), None)
        if ticket is None:
            return None
        known = self.visits.get(visit_ref) is not None
        return ticket, self.queue.estimate(ticket.id), known

    async def _replay(
        self, station: str, visit_ref: str, found: tuple[Ticket, WaitEstimate, bool]
    ) -> TicketIssued:
        """Answer a repeated request with the ticket it already has (and reprint it)."""
        ticket, estimate, known = found
        wire = ticket_wire(self.config, ticket, estimate)
        if not known:
            # A ticket committed before its visit existed (an older hub): keep it as a walk-in.
            visit = self._visit_of(ticket, visit_ref, station, None, None, None)

            def add() -> PushEvent:
                with self.db.transaction():
                    self.visits.add(visit)
                    return self.stream.append(
                        PushKind.ARRIVAL, self._arrival(visit, ticket, wire, None)
                    )

            self.stream.publish(await asyncio.get_running_loop().run_in_executor(None, add))
        wire = await asyncio.get_running_loop().run_in_executor(None, self._with_pass, ticket, wire)
        # Reprint: the first answer may have been lost before the paper came out; the same
        # number twice on paper is harmless, a second number is not.
        printed = await self._print(station, ticket, wire)
        return TicketIssued(wire, printed, replayed=True)

    def _known_tier(self, code: str) -> bool:
        return any(t.code == code for t in self.config.tiers)

    async def _print(self, station: str, ticket: Ticket, wire: TicketShown) -> PrintOutcome:
        devices = self.stations.get(station)
        printer = devices.printer if devices is not None else None
        if printer is None:
            return PrintOutcome(False, "offline")
        branch_name = self.config.branch.name_zh
        issued_at = ticket.issued_at.astimezone(self.zone).replace(tzinfo=None)

        def print_blocking() -> Any:
            # The first ticket imports the ESC/POS stack (files, ~0.2 s): never on the loop.
            from drivers.printer.ticket import TicketLayout

            layout = TicketLayout(
                branch_name=branch_name,
                ticket_number=ticket.number,
                service=wire.service_zh,
                people_ahead=wire.people_ahead,
                wait_min_minutes=wire.wait_min[0],
                wait_max_minutes=wire.wait_min[1],
                issued_at=issued_at,
                token=wire.qr,
            )
            return printer.print_ticket(layout)

        try:
            result = await asyncio.get_running_loop().run_in_executor(None, print_blocking)
        except Exception as exc:  # a driver bug must not lose the ticket
            log.warning("printing at %s failed: %s", station, type(exc).__name__)
            await self.alert(station, "printer", "error")
            return PrintOutcome(False, "error")
        if result.printed:
            return PrintOutcome(True, None)
        problem = _print_problem(result)
        await self.alert(station, "printer", f"print_failed:{problem}")
        return PrintOutcome(False, problem)
