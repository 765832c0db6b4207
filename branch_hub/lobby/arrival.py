"""The arrival flow: device event -> identification -> kiosk session (tickets: tickets.py).

card / passbook / ID read at station K1 (a driver thread)
  -> Lobby.sink: ReadJournal.take (sealed, committed)         (survives a restart)
  -> asyncio queue -> on_device_event                         (never waits for the lobby)
  -> CustomerCache.identify in the one lookup thread          (unknown -> walk-in)
  -> KioskSessions.start(K1, recognised | walk_in)            (kiosk.session to K1's kiosk)
POST /kiosk/tickets {service, session_id}
  -> QueueStore.issue (priority from the tier) -> VisitStore.add (sealed references)
  -> one transaction: ticket, visit and `arrival` event; then the push, then the printer
  -> the session ends: the customer is forgotten.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.config import BranchConfig, StationRole
from branch_hub.database import HubDatabase
from branch_hub.lobby.appointments import AppointmentDesk
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.desk_reads import DeskReads
from branch_hub.lobby.devices import StationDevices
from branch_hub.lobby.handoffs import HandoffBook
from branch_hub.lobby.read_journal import ReadJournal, read_identifier
from branch_hub.lobby.sessions import KioskSession, KioskSessions
from branch_hub.lobby.tickets import KioskTickets
from branch_hub.lobby.visits import Visit, VisitStore
from branch_hub.queue import (
    QueueStore,
)
from branch_hub.security.audit import AuditSink, NullAudit
from branch_hub.stream import EventStream
from branch_hub.vocabulary import KioskMessage, SessionState
from drivers.events import DeviceEvent, EventKind
from sync.cache import Customer, CustomerCache

__all__ = ["Lobby"]

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


class Lobby(KioskTickets):
    """Arrivals at the kiosk stations: devices, sessions, identification, tickets (and the
    desks' readers, whose reads only go to a waiting identification: desk_reads.py)."""

    appointments: AppointmentDesk | None = None  # check-in of booked customers (the hub sets it)

    def __init__(
        self,
        stream: EventStream,
        config: BranchConfig,
        *,
        db: HubDatabase,
        queue: QueueStore,
        visits: VisitStore,
        briefing: Briefing,
        cache: Callable[[], CustomerCache | None],
        sim_dir: Path,
        audit: AuditSink | None = None,
        poll_interval: float = 0.1,
        reads: ReadJournal | None = None,
    ) -> None:
        self.stream = stream
        self.audit = audit or NullAudit()
        self.db = db
        self.config = config
        self.queue = queue
        self.visits = visits
        self.briefing = briefing
        self.handoffs = HandoffBook(db)
        self._cache = cache
        self.sessions = KioskSessions(config.hub.kiosk_session_timeout_s)
        self.reads = reads  # unfinished reads, completed after a restart
        self.sessions.on_forget = self._forget_read
        self._journal = ThreadPoolExecutor(1, thread_name_prefix="read-journal")
        self._forgetting: dict[str, Future[None]] = {}  # station -> its last row's deletion
        self.stations = {
            s.id: StationDevices(s, sim_dir, poll_interval=poll_interval) for s in config.stations
        }
        desks = (s.id for s in config.stations if s.role is StationRole.DESK)
        wait_s = config.hub.desk_read_wait_s
        self.desk_reads = DeskReads(desks, wait_s=wait_s)  # staff identify walk-ins there
        self.zone = ZoneInfo(config.branch.timezone)
        self.device_conditions = {}
        # One thread owns the cache connection: lookups are serialised and never block the loop.
        self._lookup = ThreadPoolExecutor(1, thread_name_prefix="cache-lookup")
        self._events: asyncio.Queue[tuple[DeviceEvent, str | None]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._cache_alerted = False

    @property
    def lookup(self) -> ThreadPoolExecutor:
        """The one thread that owns the cache connection (lookups are serialised on it)."""
        return self._lookup

    @property
    def cache(self) -> CustomerCache | None:
        """The customer cache, or None before the hub has its key and a first version."""
        return self._cache()

    async def _open_cache(self) -> CustomerCache | None:
        # Opening it checks files and may decrypt: in the lookup thread, never on the loop.
        return await asyncio.get_running_loop().run_in_executor(self._lookup, self._cache)

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the stations' devices and start handling their events."""
        self._loop = asyncio.get_running_loop()
        self._events = asyncio.Queue()
        self._consumer = asyncio.create_task(self._consume())
        await self._complete_reads()  # before the devices: a card still there is read after
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
        await loop.run_in_executor(None, self._journal.shutdown)

    async def _complete_reads(self) -> None:
        """Finish the reads an earlier run took and did not finish (read_journal.py)."""
        if self.reads is None:
            return
        loop = asyncio.get_running_loop()
        timeout = self.sessions.timeout_s
        try:
            pending = await loop.run_in_executor(self._journal, self.reads.pending, timeout)
        except Exception as exc:  # an unreadable journal must not stop the lobby
            log.warning("unfinished reads cannot be read: %s", type(exc).__name__)
            return
        for read in pending:
            if read.station not in self.stations or read.station in self.desk_reads.desks:
                self._forget(read.station, read.read_id)
                continue
            log.info("completing an unfinished read at %s (%.2f s old)", read.station, read.age_s)
            lasts = timeout - read.age_s
            await self.identify(
                read.station,
                read.kind,
                read.value,
                read.method,
                read_id=read.read_id,
                lasts_s=lasts,
            )

    def _forget_read(self, session: KioskSession) -> None:
        """A session from a read ended without a ticket: its read is finished."""
        self._forget(session.station, session.read_id)

    def _forget(self, station: str, read_id: str | None) -> None:
        """Forget a finished read from any thread, never waiting (the journal's own thread)."""
        if self.reads is not None and read_id is not None:
            self._forgetting[station] = self._journal.submit(self._finish_quietly, station, read_id)

    async def reads_forgotten(self, station: str) -> None:
        """Wait until the station's finished read is deleted (before the kiosk hears it ended)."""
        pending = self._forgetting.pop(station, None)
        if pending is not None:
            await asyncio.wrap_future(pending)

    def _finish_quietly(self, station: str, read_id: str) -> None:
        try:
            if self.reads is not None:
                self.reads.finish(station, read_id)
        except Exception as exc:  # the row then ages out at the next start
            log.warning("a finished read at %s was not forgotten: %s", station, type(exc).__name__)

    def sink(self, event: DeviceEvent) -> None:
        """Take a device event from any thread (never blocks the driver)."""
        loop, queue = self._loop, self._events
        if loop is None or queue is None or loop.is_closed():
            return
        if event.station in self.desk_reads.desks:  # never journalled, never a kiosk session
            read = read_identifier(event)
            if read is not None:
                loop.call_soon_threadsafe(self.desk_reads.offer, event.station, *read)
            elif event.kind in _ALERTS or event.kind in _CLEARS:
                loop.call_soon_threadsafe(queue.put_nowait, (event, None))
            return
        read_id = self._keep_read(event)
        loop.call_soon_threadsafe(queue.put_nowait, (event, read_id))

    def _keep_read(self, event: DeviceEvent) -> str | None:
        """Write an identifying read down, sealed, before acting on it (the device's thread)."""
        read = read_identifier(event) if self.reads is not None else None
        if read is None or self.reads is None:
            return None
        try:
            return self.reads.take(event.station, *read)
        except Exception as exc:  # the read goes on, only without protection from a restart
            log.warning("a read at %s was not kept: %s", event.station, type(exc).__name__)
            return None

    async def _consume(self) -> None:
        assert self._events is not None  # noqa: S101 (set in start)
        while True:
            event, read_id = await self._events.get()
            try:
                await self.on_device_event(event, read_id)
            except Exception:  # one bad event must not stop the lobby
                log.exception(
                    "handling %s from %s/%s failed", event.kind, event.station, event.device
                )

    # -- device events ----------------------------------------------------------------------
    async def on_device_event(self, event: DeviceEvent, read_id: str | None = None) -> None:
        """React to one device event of a station (`read_id`: its row in the read journal)."""
        from drivers.events import FailReason, ReadFailure

        station = event.station
        kind = event.kind
        payload = event.payload
        if kind is EventKind.card_inserted:
            self.sessions.tell(station, KioskMessage.CARD_SENSED, {"device": event.device})
            self.sessions.start(station, SessionState.READING)
        elif (read := read_identifier(event)) is not None:
            await self.identify(station, *read, read_id=read_id)
        elif kind in (EventKind.card_read, EventKind.passbook_read):
            self.sessions.start(station, SessionState.READ_FAILED, problem="unreadable")
        elif kind is EventKind.read_failed and isinstance(payload, ReadFailure):
            removed = payload.reason is FailReason.card_removed
            self.sessions.start(
                station,
                SessionState.READ_FAILED,
                problem="card_removed" if removed else "unreadable",
            )
        elif kind in _ALERTS or kind in _CLEARS:
            await self.alert(station, event.device, _ALERTS.get(kind, "ok"), kind in _CLEARS)
            if kind is EventKind.device_fault and event.device in {
                "card_reader",
                "idreader",
                "magstripe",
            }:
                current = self.sessions.current(station)
                if current is not None and current.state is SessionState.READING:
                    self.sessions.start(station, SessionState.READ_FAILED, problem="reader_fault")

    async def identify(
        self,
        station: str,
        kind: str,
        value: str,
        method: str | None = None,
        *,
        read_id: str | None = None,
        lasts_s: float | None = None,
    ) -> KioskSession:
        """Identify a read identifier and start the station's session (recognised or walk-in);
        `method` (IdentifiedBy: chip or stripe for a card) is what the visit records, else `kind`."""
        by = method or kind
        customer: Customer | None = None
        problem: str | None = None
        cache = await self._open_cache()
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
            return self.sessions.start(
                station,
                SessionState.WALK_IN,
                problem=problem,
                identified_by=by,
                read_id=read_id,
                lasts_s=lasts_s,
            )
        return await self.recognise(station, customer, by, read_id=read_id, lasts_s=lasts_s)

    async def recognise(
        self,
        station: str,
        customer: Customer,
        by: str,
        read_id: str | None = None,
        lasts_s: float | None = None,
    ) -> KioskSession:
        """Greet a known customer at the station, checking a due appointment in (then the
        session ends: the ticket is taken); `by` is how, `read_id` the journalled read if any."""
        self._audit_identification(station, customer, by)
        booked = self.appointments
        checkin = await booked.check_in(station, customer, by) if booked is not None else None
        session = self.sessions.start(
            station,
            SessionState.RECOGNISED,
            customer=customer,
            greeting=self.briefing.greeting(customer.record),
            identified_by=by,
            appointment=checkin.to_wire(self.config) if checkin is not None else None,
            read_id=read_id,
            lasts_s=lasts_s,
        )
        if checkin is not None and booked is not None:
            # The ticket is taken: the customer is forgotten as after a kiosk ticket (a
            # repeated check-in shows the same ticket, so the read may be forgotten after).
            self.sessions.end(station, "ticket_issued")
            self._forget(station, read_id)
            await booked.announce(station, checkin)
        return session

    def _audit_identification(self, station: str, customer: Customer, kind: str) -> None:
        """A kiosk read turned into a customer: a view of customer data (never waits)."""
        try:
            self.audit.record(
                "identification",
                device_id=station,
                customer_id=customer.customer_id,
                detail={"identified_by": kind},
            )
        except ValueError as exc:  # an id the audit log refuses: say so, without the id
            log.warning("identification at %s not audited: %s", station, type(exc).__name__)

    async def record_of(self, visit: Visit) -> dict[str, Any] | None:
        """The visit's customer record from the cache (None for walk-ins or an unreadable cache)."""
        if visit.customer_id is None or (cache := await self._open_cache()) is None:
            return None
        cid = visit.customer_id
        loop = asyncio.get_running_loop()
        try:
            customer = await loop.run_in_executor(self._lookup, cache.by_customer_id, cid)
        except Exception as exc:  # an unreadable cache gives a minimal brief, not a failure
            log.warning("cache lookup for a brief failed: %s", type(exc).__name__)
            return None
        return customer.record if customer is not None else None

    # -- kiosk API --------------------------------------------------------------------------
    def session_wire(self, station: str) -> dict[str, Any]:
        """The station's session as the kiosk sees it, or idle."""
        session = self.sessions.current(station)
        if session is None:
            return {"state": "idle"}
        return session.to_wire(self.sessions.now())

    def waiting_counts(self) -> dict[str, int]:
        """Waiting tickets per service (blocking: executor)."""
        return dict(self.queue.dashboard().waiting)

    @staticmethod
    def now() -> datetime:
        """The hub's clock (aware UTC)."""
        return datetime.now(UTC)
