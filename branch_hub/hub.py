"""The one typed hub, built by one function: the service, the tests, the benches and the demo.

`build_hub(config, config_path)` opens everything a branch hub is made of: its database (queue,
visits, notes, push events, HQ outbox, answered requests, pending audit entries), the security
stores (devices, staff, sessions, audit log), the lobby and its desks, the customer cache's
scheduled pull, the product catalogue's pull and search, the voice cache and the app store.
There is no hub without security: every request is admitted by the device registry and the
staff sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from branch_hub.alerts import AUDIT_DOUBTED, HubAlerts
from branch_hub.appstore.store import AppStore
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.cache_sync import CacheSync, SyncSettings
from branch_hub.catalogue_sync import CatalogueSettings, CatalogueSync
from branch_hub.config import BranchConfig, HqFiles, resolve_data_dir
from branch_hub.database import HubDatabase
from branch_hub.diskreserve import MB, DiskReserve
from branch_hub.limits import WriteLimits
from branch_hub.lobby.actions import Actions
from branch_hub.lobby.appointment_book import AppointmentBook
from branch_hub.lobby.appointment_index import BookingIndex
from branch_hub.lobby.appointment_staff import StaffAppointments
from branch_hub.lobby.appointments import AppointmentDesk
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.board_watch import BoardDesk
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.counters import Counters
from branch_hub.lobby.guest import GuestPasses
from branch_hub.lobby.handoffdesk import HandoffDesk
from branch_hub.lobby.kiosk_scan import KioskScan
from branch_hub.lobby.product_views import ProductViewDesk
from branch_hub.lobby.read_journal import ReadJournal
from branch_hub.lobby.records import AnsweredRequests, AuditRelay, PendingAudits
from branch_hub.lobby.sms import SmsNotices
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.lobby.timeline import Timeline
from branch_hub.lobby.visits import VisitStore
from branch_hub.outbox import Outbox, OutboxSender, open_for_hub
from branch_hub.pki import load_pem_pair
from branch_hub.push import Broadcaster, EventLog
from branch_hub.queue import QueueStore
from branch_hub.reports import ReportDesk, ReportSources
from branch_hub.reports.work_figures import cache_lookup
from branch_hub.retention import Pruner, today_start
from branch_hub.security.audit import AuditLog
from branch_hub.security.hashing import HASH_THREADS, SecretHashing
from branch_hub.security.hub import HubSecurity
from branch_hub.stream import EventStream
from branch_hub.voice import VoiceCache
from sync.cache import CustomerCache

__all__ = ["Hub", "HubOptions", "build_hub"]

log = logging.getLogger("branch_hub.hub")


@dataclass(frozen=True)
class HubOptions:
    """How a hub is built beyond its config (tests and tools change these, never the parts)."""

    cache_dir: Path | None = None  # open this cache folder instead of the scheduled pull's
    poll_interval_s: float = 0.1  # how often station devices are polled
    push_queue_size: int = 1000  # events a slow subscriber may fall behind before a resync
    disk_check_interval_s: float = 2.0  # how often the data disk's free space is read
    # PIN checks' own pool; None: the loop's shared executor, no trim (benches' baseline only)
    hash_threads: int | None = HASH_THREADS


@dataclass
class Hub:
    """A running branch hub's parts, all present and typed."""

    config: BranchConfig
    data_dir: Path
    db: HubDatabase
    stream: EventStream
    security: HubSecurity
    lobby: Lobby
    desk: StaffDesk
    counters: Counters
    outbox: Outbox
    sender: OutboxSender | None
    cache_sync: CacheSync
    relay: AuditRelay
    requests: AnsweredRequests
    voice: VoiceCache
    appstore: AppStore
    pruner: Pruner
    alerts: HubAlerts
    catalogue: CatalogueSync  # HQ's product catalogue, pulled and indexed for tablets
    limits: WriteLimits = field(init=False)  # per-device write budgets, from the config
    handoffs: HandoffDesk = field(init=False)  # hand-offs to a person, managers' alerts
    disk: DiskReserve = field(init=False)  # the data disk's reserve, from the config
    timeline: Timeline = field(init=False)  # colleagues' work with a customer, visit by visit
    board: BoardDesk = field(init=False)  # the lobby board and its alerts
    views: ProductViewDesk = field(init=False)  # catalogue products staff showed, for HQ
    reports: ReportDesk = field(init=False)  # the branch's day, week and month reports
    guest: GuestPasses = field(init=False)  # tickets' passes for the customers' phones
    appointments: StaffAppointments = field(init=False)  # same-day bookings on the tablet
    kiosk_scan: KioskScan = field(init=False)  # the kiosk's camera: appointment codes, upgrades
    disk_check_interval_s: float = 2.0
    own_cache: CustomerCache | None = None
    status: dict[str, str] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event | None = None
    _stoppable: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.lobby.briefing.catalogue = self.catalogue.facts  # briefs judge leads' products
        self.limits = WriteLimits(self.config.hub.write_limit_scale)
        staff, sessions = self.security.staff, self.security.sessions
        self.handoffs = HandoffDesk(self.desk, staff.list, sessions.staff_ids)
        reserve = self.config.hub.disk_reserve_mb * MB
        interval = self.disk_check_interval_s
        self.disk = DiskReserve(self.data_dir, reserve, self.alerts, interval_s=interval)
        self.views = ProductViewDesk(self.desk, self.db, self.catalogue.facts)
        self.timeline = Timeline(self.lobby, self.desk.actions, self.security.staff.directory)
        self.lobby.appointments = desk = _appointment_desk(self)
        key = load_or_create_key(self.data_dir / "atrest.key")
        self.lobby.reads = ReadJournal(self.db, AtRestCipher(key))  # reads survive a restart
        self.reports = _report_desk(self)
        self.guest = GuestPasses(self.db, self.config, self.lobby.queue, self._business_day)
        if self.config.guest.enabled:
            self.lobby.guest_pass = self.guest.issue
        self.appointments = StaffAppointments(desk, self.lobby.record_of)
        self.kiosk_scan = KioskScan(self.lobby, self.guest, self.desk.actions)
        self._texts()
        if self.sender is not None:
            self.sender.day_report = self.reports.hq_day_report  # with the nightly batch
        self.board = BoardDesk(
            self.config,
            self.lobby,
            self.alerts,
            self.lobby.now,
            cache_sync=self.cache_sync,
            outbox=self.outbox,
            sender=self.sender,
        )

    def _texts(self) -> None:
        """With `[sms] enabled`, opted-in customers' tickets ask HQ for a text near the front."""
        if not self.config.sms.enabled:
            return
        lobby = self.lobby
        sms = SmsNotices(
            self.db, self.config.sms, lobby.queue, lobby.visits, self.outbox, lobby.now
        )
        lobby.sms_watch = sms.watch
        self.counters.sms_notice = sms.notice

    def _business_day(self) -> date:
        return self.lobby.now().astimezone(self.lobby.zone).date()

    @property
    def audit(self) -> AuditLog:
        """The hash-chained audit log."""
        return self.security.audit

    async def start(self) -> None:
        """Open the station devices and start the hub's background work."""
        self._stop = asyncio.Event()
        self.relay.start()
        if not self.cache_sync.settings.url:
            # No HQ to pull from: say so once, now, before the first client connects.
            await asyncio.get_running_loop().run_in_executor(None, self.cache_sync.open_cache)
            await self.cache_sync.report_staleness()
        await self.lobby.start()
        self._tasks.append(asyncio.create_task(self.cache_sync.run(self._stop), name="pull"))
        self._tasks.append(asyncio.create_task(self.catalogue.run(self._stop), name="catalogue"))
        self._tasks.append(asyncio.create_task(self.security.watch_revocations()))
        self._tasks.append(asyncio.create_task(self.security.watch_sessions(), name="sessions"))
        self._tasks.append(asyncio.create_task(self.security.watch_attacks(self.alerts)))
        self._tasks.append(asyncio.create_task(self._watch_audit_head(), name="audit-head"))
        self._tasks.append(asyncio.create_task(self.disk.run(self._stop), name="disk"))
        self._tasks.append(asyncio.create_task(self.board.run(self._stop), name="lobby-board"))
        if self.lobby.appointments is not None:
            sweep = self.lobby.appointments.run(self._stop)
            self._tasks.append(asyncio.create_task(sweep, name="appointments"))
        self._stoppable = asyncio.create_task(self.pruner.run(self._stop), name="retention")
        if self.sender is not None:
            self._tasks.append(asyncio.create_task(self.sender.run(self._stop), name="outbox"))

    async def _watch_audit_head(self, every_s: float = 5.0) -> None:
        """Alert staff while the audit log's head is doubted, here or by HQ (rolled back)."""
        while True:
            doubted = not self.security.audit.heads.trusted or bool(
                self.sender is not None and self.sender.hq_refused_audit_head
            )
            if doubted:
                await self.alerts.raise_alert(AUDIT_DOUBTED)
            else:
                await self.alerts.clear(AUDIT_DOUBTED.key)
            await asyncio.sleep(every_s)

    async def close(self) -> None:
        """Stop background work and devices, then close every store."""
        if self._stop is not None:
            self._stop.set()
        if self._stoppable is not None:
            # Not cancelled: it returns within one batch once stopped, and a cancel could close
            # the database under its worker thread.
            await self._stoppable
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.lobby.stop()
        await asyncio.get_running_loop().run_in_executor(None, self.relay.close)
        self.cache_sync.close()
        self.catalogue.close()
        if self.sender is not None:
            self.sender.close()
        if self.own_cache is not None:
            self.own_cache.close()
        self.appstore.close()
        self.db.close()
        await self.security.hashing.close()
        self.security.close()


def _open_cache(cache_dir: Path) -> CustomerCache | None:
    """Open a cache folder with its sync key; None means every arrival is a walk-in."""
    key = cache_dir / "hub_sync.key"
    if not key.exists():
        log.warning("no hub sync key in %s: customers cannot be recognised", cache_dir)
        return None
    try:
        return CustomerCache(cache_dir, key)
    except Exception as exc:  # an unreadable cache must not stop the lobby
        log.warning("customer cache unavailable: %s", type(exc).__name__)
        return None


def _security(data_dir: Path, config: BranchConfig, options: HubOptions) -> HubSecurity:
    pki = data_dir / "pki"
    ca = load_pem_pair(pki / "ca.crt", pki / "ca.key") if (pki / "ca.key").exists() else None
    security = HubSecurity.open(data_dir, config.hub.staff_idle_timeout_s, ca=ca)
    security.hashing = SecretHashing(options.hash_threads)
    return security


def _customer_cache(
    options: HubOptions, cache_sync: CacheSync
) -> tuple[CustomerCache | None, Callable[[], CustomerCache | None]]:
    """The cache the lobby reads: the scheduled pull's, or a folder the options name."""
    if options.cache_dir is None:
        return None, cache_sync.open_cache
    own = _open_cache(options.cache_dir)
    return own, lambda: own


def _catalogue(
    config: BranchConfig, config_path: Path, data_dir: Path, lobby: Lobby
) -> CatalogueSync:
    """HQ's product catalogue, on sale or not by the branch's own date."""
    settings = CatalogueSettings.from_config(config, config_path, data_dir)
    return CatalogueSync(settings, lambda: lobby.now().astimezone(lobby.zone).date())


def _report_desk(hub: Hub) -> ReportDesk:
    """The report desk on the hub's own tables, auditing like any view."""
    lookup = cache_lookup(lambda: hub.lobby.cache)
    staff = hub.security.staff.directory
    sources = ReportSources(hub.db, hub.lobby.visits, hub.outbox, lookup, staff, hub.stream.log)
    if hub.lobby.appointments is not None:
        sources = replace(sources, appointments=hub.lobby.appointments.book.of_day)
    return ReportDesk(hub.config, sources, hub.desk.actions.audit_view, hub.lobby.now)


def _appointment_desk(hub: Hub) -> AppointmentDesk:
    """Check-in of booked customers, on a sealed book in the hub's database."""
    cipher = AtRestCipher(load_or_create_key(hub.data_dir / "atrest.key"))
    book = AppointmentBook(hub.db, cipher)
    desk = AppointmentDesk(hub.lobby, book, hub.alerts, hub.lobby.now)
    services = frozenset(s.code for s in hub.config.services)
    desk.index = BookingIndex(book, lambda: hub.lobby.cache, hub.lobby.lookup, services)
    return desk


def build_hub(config: BranchConfig, config_path: Path, options: HubOptions | None = None) -> Hub:
    """Open every part of the hub for `config` (its data folder must be provisioned)."""
    options = options or HubOptions()
    data_dir = resolve_data_dir(config, config_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    cipher = AtRestCipher(load_or_create_key(data_dir / "atrest.key"))
    db = HubDatabase(data_dir / "hub.db")
    stream = EventStream(EventLog(db, cipher), Broadcaster(options.push_queue_size))
    stream.board.rebuild(stream.log, today_start(config.branch.timezone))
    security = _security(data_dir, config, options)
    cache_sync = CacheSync(SyncSettings.from_config(config, config_path, data_dir), stream.emit)
    own, cache = _customer_cache(options, cache_sync)
    hq_ca = HqFiles.of(config, config_path).ca_file
    outbox, sender = open_for_hub(config, data_dir, cipher, db, hq_ca, security.audit)
    pending = PendingAudits(db, cipher, security.audit)
    relay = AuditRelay(pending)
    requests = AnsweredRequests(db, cipher)
    clock = lambda: datetime.now(UTC)  # noqa: E731 (the hub's one clock)
    queue = QueueStore(db, config, clock)
    lobby = Lobby(
        stream,
        config,
        db=db,
        queue=queue,
        visits=VisitStore(db, cipher),
        briefing=Briefing(config, db, cipher),
        cache=cache,
        sim_dir=data_dir / "sim",
        audit=security.audit,
        poll_interval=options.poll_interval_s,
    )
    day = lambda: lobby.now().astimezone(lobby.zone).date().isoformat()  # noqa: E731
    actions = Actions(db, stream, outbox, pending, relay, requests, clock, day)
    voice = VoiceCache(data_dir / "voice")
    counters = Counters(config, queue, actions, voice, lobby.menu_changed)
    return Hub(
        config=config,
        data_dir=data_dir,
        db=db,
        stream=stream,
        security=security,
        lobby=lobby,
        desk=StaffDesk(lobby, actions),
        counters=counters,
        outbox=outbox,
        sender=sender,
        cache_sync=cache_sync,
        relay=relay,
        requests=requests,
        voice=voice,
        appstore=AppStore(data_dir / "appstore"),
        pruner=Pruner(
            stream.log, outbox, config.retention, config.branch.timezone, answered=requests.prune
        ),
        alerts=HubAlerts(stream.emit),
        catalogue=_catalogue(config, config_path, data_dir, lobby),
        disk_check_interval_s=options.disk_check_interval_s,
        own_cache=own,
        status={"branch_id": config.branch.id},
    )
