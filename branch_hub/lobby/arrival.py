"""The arrival flow: device event -> identification -> kiosk session -> ticket -> print -> push.

card / passbook / ID read at station K1 (a driver thread)
  -> Lobby.sink -> asyncio queue -> on_device_event          (never blocks a driver)
  -> CustomerCache.identify in the one lookup thread          (unknown -> walk-in)
  -> KioskSessions.start(K1, recognised | walk_in)            (kiosk.session to K1's kiosk)
POST /kiosk/tickets {service, session_id}
  -> QueueStore.issue (priority from the tier) -> VisitStore.add (sealed references)
  -> at once, side by side: Printer.print_ticket and hub.emit("arrival")
  -> the session ends: the customer is forgotten.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.config import BranchConfig
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.devices import StationDevices
from branch_hub.lobby.sessions import KioskSession, KioskSessions
from branch_hub.lobby.visits import Visit, VisitStore
from branch_hub.queue import Actor, QueueError, QueueStore, Ticket, WaitEstimate
from branch_hub.server import ApiError, HubApp
from drivers.events import DeviceEvent, EventKind
from sync.cache import Customer, CustomerCache

__all__ = ["Lobby", "PrintOutcome", "ticket_wire"]

log = logging.getLogger("branch_hub.lobby")

# Driver event kinds that the staff must hear about (device_alert), with their condition code.
_ALERTS = {
    EventKind.device_fault: "fault",
    EventKind.paper_low: "paper_low",
    EventKind.paper_out: "paper_out",
    EventKind.cover_open: "cover_open",
    EventKind.printer_offline: "offline",
}
_CLEARS = {EventKind.device_recovered, EventKind.printer_ok}


@dataclass(frozen=True)
class PrintOutcome:
    """What the kiosk learns about printing: ok, or one problem word."""

    ok: bool
    problem: str | None

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"ok": self.ok, "problem": self.problem}


def ticket_wire(
    config: BranchConfig, ticket: Ticket, estimate: WaitEstimate | None
) -> dict[str, Any]:
    """The ticket as kiosks and tablets see it (no personal data)."""
    service = config.service(ticket.service)
    lo = math.floor(estimate.low_min) if estimate else 0
    hi = max(lo, math.ceil(estimate.high_min)) if estimate else 0
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": service.code,
        "service_zh": service.name_zh,
        "service_en": service.name_en,
        "people_ahead": estimate.ahead if estimate else 0,
        "wait_min": [lo, hi],
        "qr": f"branch-edge:{config.branch.id}:{ticket.id}",
        "issued_at": ticket.issued_at.isoformat(),
    }


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


class Lobby:
    """Arrivals at the kiosk stations: devices, sessions, identification, tickets."""

    def __init__(
        self,
        hub: HubApp,
        config: BranchConfig,
        *,
        queue: QueueStore,
        visits: VisitStore,
        briefing: Briefing,
        cache: Callable[[], CustomerCache | None],
        sim_dir: Path,
        poll_interval: float = 0.1,
    ) -> None:
        self.hub = hub
        self.config = config
        self.queue = queue
        self.visits = visits
        self.briefing = briefing
        self._cache = cache
        self.sessions = KioskSessions(config.hub.kiosk_session_timeout_s)
        self.stations = {
            s.id: StationDevices(s, sim_dir, poll_interval=poll_interval) for s in config.stations
        }
        self.zone = ZoneInfo(config.branch.timezone)
        # One thread owns the cache connection: lookups are serialised and never block the loop.
        self._lookup = ThreadPoolExecutor(1, thread_name_prefix="cache-lookup")
        self._events: asyncio.Queue[DeviceEvent] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._cache_alerted = False

    @property
    def cache(self) -> CustomerCache | None:
        """The customer cache, or None before the hub has its key and a first version."""
        return self._cache()

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the stations' devices and start handling their events."""
        self._loop = asyncio.get_running_loop()
        self._events = asyncio.Queue()
        self._consumer = asyncio.create_task(self._consume())
        for devices in self.stations.values():
            await self._loop.run_in_executor(None, devices.start, self.sink)

    async def stop(self) -> None:
        """Stop devices, forget sessions."""
        loop = asyncio.get_running_loop()
        for devices in self.stations.values():
            await loop.run_in_executor(None, devices.stop)
        if self._consumer is not None:
            self._consumer.cancel()
        self.sessions.close()
        self._lookup.shutdown(wait=False, cancel_futures=True)

    def sink(self, event: DeviceEvent) -> None:
        """Take a device event from any thread (never blocks the driver)."""
        loop, queue = self._loop, self._events
        if loop is None or queue is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(queue.put_nowait, event)

    async def _consume(self) -> None:
        assert self._events is not None  # noqa: S101 (set in start)
        while True:
            event = await self._events.get()
            try:
                await self.on_device_event(event)
            except Exception:  # one bad event must not stop the lobby
                log.exception(
                    "handling %s from %s/%s failed", event.kind, event.station, event.device
                )

    # -- device events ----------------------------------------------------------------------
    async def on_device_event(self, event: DeviceEvent) -> None:
        """React to one device event of a station."""
        from drivers.events import FailReason, IdCardRead, ReadFailure

        station = event.station
        kind = event.kind
        payload = event.payload
        if kind is EventKind.card_inserted:
            self.sessions.tell(station, "kiosk.card_sensed", {"device": event.device})
            self.sessions.start(station, "reading")
        elif kind in (EventKind.card_read, EventKind.passbook_read):
            await self._identify_read(station, payload)
        elif kind is EventKind.id_read and isinstance(payload, IdCardRead):
            await self.identify(station, "id_number", payload.id_number)
        elif kind is EventKind.read_failed and isinstance(payload, ReadFailure):
            removed = payload.reason is FailReason.card_removed
            self.sessions.start(
                station, "read_failed", problem="card_removed" if removed else "unreadable"
            )
        elif kind in _ALERTS or kind in _CLEARS:
            await self.alert(station, event.device, _ALERTS.get(kind, "ok"), kind in _CLEARS)
            if kind is EventKind.device_fault and event.device in {
                "card_reader",
                "idreader",
                "magstripe",
            }:
                current = self.sessions.current(station)
                if current is not None and current.state == "reading":
                    self.sessions.start(station, "read_failed", problem="reader_fault")

    async def _identify_read(self, station: str, payload: Any) -> None:
        from drivers.events import CardRead, PassbookRead

        if isinstance(payload, PassbookRead):
            await self.identify(station, "passbook", payload.account)
        elif isinstance(payload, CardRead) and payload.pan:
            await self.identify(station, "pan", payload.pan)
        else:
            self.sessions.start(station, "read_failed", problem="unreadable")

    async def alert(self, station: str, device: str, condition: str, cleared: bool = False) -> None:
        """Push a device_alert event and tell the station's kiosk."""
        data = {"station": station, "device": device, "condition": condition, "cleared": cleared}
        self.sessions.tell(station, "device.alert", data)
        await self.hub.emit("device_alert", data)

    async def identify(self, station: str, kind: str, value: str) -> KioskSession:
        """Identify a read identifier and start the station's session (recognised or walk-in)."""
        customer: Customer | None = None
        problem: str | None = None
        cache = self.cache
        if cache is None:
            problem = "unknown_card"
            if not self._cache_alerted:
                self._cache_alerted = True
                await self.alert(station, "customer_cache", "unavailable")
        else:
            loop = asyncio.get_running_loop()
            try:
                customer = await loop.run_in_executor(self._lookup, cache.identify, kind, value)
            except Exception as exc:  # malformed number or an unreadable cache: a walk-in
                log.info("identification at %s failed: %s", station, type(exc).__name__)
                customer = None
            if customer is None:
                problem = "unknown_card"
        if customer is None:
            return self.sessions.start(station, "walk_in", problem=problem, identified_by=kind)
        return self.sessions.start(
            station,
            "recognised",
            customer=customer,
            greeting=self.briefing.greeting(customer.record),
            identified_by=kind,
        )

    # -- kiosk API --------------------------------------------------------------------------
    def session_wire(self, station: str) -> dict[str, Any]:
        """The station's session as the kiosk sees it, or idle."""
        session = self.sessions.current(station)
        if session is None:
            return {"state": "idle"}
        return session.to_wire(self.sessions.now())

    def menu(self) -> dict[str, Any]:
        """Branch and services with their waiting counts and a wait range (blocking: executor)."""
        waiting = self.waiting_counts()
        dashboard = self.queue.dashboard()
        open_counters = {c.counter_id for c in dashboard.counters if c.open}
        loads = {load.service: load for load in dashboard.services}
        services = []
        for service in self.config.services:
            load = loads.get(service.code)
            count = waiting.get(service.code, 0)
            serving = [c.id for c in self.config.counters if service.code in c.services]
            capacity = max(len([c for c in serving if c in open_counters]) or len(serving), 1)
            median = load.median_service_min if load else service.typical_service_min
            p80 = load.p80_service_min if load else service.typical_service_min * 1.5
            services.append(
                {
                    "code": service.code,
                    "name_zh": service.name_zh,
                    "name_en": service.name_en,
                    "prefix": service.prefix,
                    "waiting": count,
                    "wait_min": [
                        math.floor(count * median / capacity),
                        math.ceil(count * p80 / capacity),
                    ],
                }
            )
        branch = self.config.branch
        return {
            "branch": {"id": branch.id, "name_zh": branch.name_zh, "name_en": branch.name_en},
            "services": services,
        }

    def menu_changed(self) -> None:
        """Tell every kiosk that waiting counts changed (they fetch /kiosk/menu again)."""
        self.sessions.tell_all("kiosk.menu_changed", {})

    def waiting_counts(self) -> dict[str, int]:
        """Waiting tickets per service (under the store's lock: executor threads write it)."""
        counts = {s.code: 0 for s in self.config.services}
        for ticket in self.queue.waiting():
            counts[ticket.service] = counts.get(ticket.service, 0) + 1
        return counts

    async def issue_ticket(
        self, station: str, service: str, session_id: str | None, request_id: str | None = None
    ) -> dict[str, Any]:
        """Issue, persist, print and announce a ticket for the station's customer (or a walk-in).

        With a `request_id` the call is idempotent for the business day: the visit id is derived
        from it and committed with the ticket, so a retry after a lost answer (even across a hub
        restart) finds that ticket and gets it back (reprinted) instead of a second one.
        """
        try:
            self.config.service(service)
        except KeyError:
            raise ApiError(400, "unknown_service", "no such service at this branch") from None
        loop = asyncio.get_running_loop()
        if request_id is not None:
            visit_ref = hashlib.sha256(f"kiosk\x00{station}\x00{request_id}".encode()).hexdigest()[
                :16
            ]
            found = await loop.run_in_executor(None, self._issued_for, visit_ref)
            if found is not None:
                return await self._replay(station, visit_ref, found)
        session: KioskSession | None = None
        if session_id is not None:
            session = self.sessions.current(station)
            if session is None or session.session_id != session_id:
                raise ApiError(
                    409,
                    "session_expired",
                    "the session has ended; read the card again or take a walk-in ticket",
                )
        customer = session.customer if session is not None else None
        identified_by = session.identified_by if session is not None else None
        if session is not None:
            # One ticket per session: a retried or doubled request finds it ended (409).
            self.sessions.end(station, "ticket_issued")
        tier = customer.tier if customer is not None and self._known_tier(customer.tier) else None
        visit_id = visit_ref if request_id is not None else secrets.token_hex(8)
        actor = Actor(None, station)

        def issue() -> tuple[Ticket, WaitEstimate]:
            # One executor hop: the commit (durable before we answer) and the estimate.
            issued = self.queue.issue(service, actor, tier=tier, visit_ref=visit_id).ticket
            if issued is None:  # pragma: no cover - issue always returns its ticket
                raise ApiError(503, "queue_unavailable", "the queue did not issue a ticket")
            return issued, self.queue.estimate(issued.id)

        try:
            ticket, estimate = await loop.run_in_executor(None, issue)
        except QueueError as exc:
            raise ApiError(
                503, "queue_unavailable", f"the queue refused the ticket: {exc}"
            ) from exc
        wire = ticket_wire(self.config, ticket, estimate)
        visit = Visit(
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
        record = customer.record if customer else None
        greeting = self.briefing.greeting(record)
        arrival = {
            "visit_id": visit_id,
            "ticket": wire,
            "tier": tier,
            "priority": ticket.priority,
            "salutation_zh": greeting["salutation_zh"] if greeting else None,
            "walk_in": customer is None,
            "station": station,
            "summary": self.briefing.summary(record, ticket.issued_at.astimezone(self.zone).date()),
        }
        # The staff hear first: the printer's status round trips would compete with the push
        # for the CPU; printing starts as soon as the event is committed and queued.
        await asyncio.gather(
            loop.run_in_executor(None, self.visits.add, visit),
            self.hub.emit("arrival", arrival),
        )
        self.menu_changed()
        printed = await self._print(station, ticket, wire)
        return {"ticket": wire, "print": printed.to_wire()}

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
    ) -> dict[str, Any]:
        """Answer a repeated request with the ticket it already has (and reprint it)."""
        ticket, estimate, known = found
        wire = ticket_wire(self.config, ticket, estimate)
        if not known:
            # The hub stopped between the queue's commit and the visit record: the customer is
            # no longer known (sessions live in memory), so the visit is kept as a walk-in.
            visit = Visit(
                visit_id=visit_ref,
                day=ticket.day.isoformat(),
                ticket_id=ticket.id,
                station=station,
                arrived_at=ticket.issued_at.isoformat(),
                walk_in=True,
                customer_id=None,
                tier=None,
                priority=ticket.priority,
                identified_by=None,
            )
            arrival = {
                "visit_id": visit_ref,
                "ticket": wire,
                "tier": None,
                "priority": ticket.priority,
                "salutation_zh": None,
                "walk_in": True,
                "station": station,
                "summary": self.briefing.summary(None, ticket.day),
            }
            await asyncio.get_running_loop().run_in_executor(None, self.visits.add, visit)
            await self.hub.emit("arrival", arrival)
        # Reprint: the first answer may have been lost before the paper came out; the same
        # number twice on paper is harmless, a second number is not.
        printed = await self._print(station, ticket, wire)
        return {"ticket": wire, "print": printed.to_wire(), "replayed": True}

    def _known_tier(self, code: str) -> bool:
        return any(t.code == code for t in self.config.tiers)

    async def _print(self, station: str, ticket: Ticket, wire: dict[str, Any]) -> PrintOutcome:
        from drivers.printer.ticket import TicketLayout

        devices = self.stations.get(station)
        printer = devices.printer if devices is not None else None
        if printer is None:
            return PrintOutcome(False, "offline")
        layout = TicketLayout(
            branch_name=self.config.branch.name_zh,
            ticket_number=ticket.number,
            service=wire["service_zh"],
            people_ahead=wire["people_ahead"],
            wait_min_minutes=wire["wait_min"][0],
            wait_max_minutes=wire["wait_min"][1],
            issued_at=ticket.issued_at.astimezone(self.zone).replace(tzinfo=None),
            token=wire["qr"],
        )
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                None, printer.print_ticket, layout
            )
        except Exception as exc:  # a driver bug must not lose the ticket
            log.warning("printing at %s failed: %s", station, type(exc).__name__)
            await self.alert(station, "printer", "error")
            return PrintOutcome(False, "error")
        if result.printed:
            return PrintOutcome(True, None)
        problem = _print_problem(result)
        await self.alert(station, "printer", f"print_failed:{problem}")
        return PrintOutcome(False, problem)

    @staticmethod
    def now() -> datetime:
        """The hub's clock (aware UTC)."""
        return datetime.now(UTC)
