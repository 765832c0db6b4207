"""A simulated business day at accelerated time against the real hub process, with fault drills.

`python -m bench.branch_day --json [--hours H] [--speed S]`: Poisson arrivals (peak 300/hour),
70 % card/ID reads through pty simulators and 30 % walk-ins, 8 counters calling and finishing
through the staff API, 20 tablets on the live event stream (dropping and resuming with since=),
5 % printer faults, a WAN outage (HQ's collector stopped), kill -9 restarts of the hub and a
delta published by HQ during the peak. All of the bench's timing is scaled by `speed` (60: one
real second is one simulated minute); the hub runs in real time, so its service-time settings are
scaled down the same way. The last line of stdout is one JSON object (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from branch_demo.site import COUNTERS, PIN, SERVICES, BranchSite, SiteOptions

__all__ = ["DayOptions", "main", "run_day"]

PEAK_PER_HOUR = 300.0
PEAK_HOUR = 10.5
SERVICE_MIX = [("cash", 0.55), ("account", 0.25), ("wealth", 0.1), ("loan", 0.1)]
TYPICAL = {code: minutes for code, _, _, _, minutes in SERVICES}
SERVES = {cid: set(services) for cid, _, services in COUNTERS}
RETRY_S = 60.0  # real seconds a client keeps retrying while the hub restarts


@dataclass
class DayOptions:
    """The day's shape and its drills."""

    hours: float = 8.0
    speed: float = 60.0
    seed: int = 11
    customers: int = 5000
    stations: int = 4
    tablets: int = 20
    restarts: int = 3
    printer_fault_share: float = 0.05
    read_share: float = 0.7
    outage_min: float = 60.0
    delta: bool = True


@dataclass
class Record:
    """What the bench saw and did."""

    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> ticket + times
    duplicate_ticket_ids: int = 0
    ambiguous_ticket_posts: int = 0
    arrivals: int = 0
    reads: int = 0
    recognised: int = 0
    read_fallback_walk_in: int = 0
    print_failed: int = 0
    printer_faults_injected: int = 0
    briefs_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    ticket_ms: list[float] = field(default_factory=list)
    kiosk_ms: list[float] = field(default_factory=list)
    outcomes: set[str] = field(default_factory=set)  # visit:lead acknowledged by the hub
    tablet_seen: list[set[int]] = field(default_factory=list)
    tablet_reconnects: int = 0
    called: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (real t, counter)
    finished: set[str] = field(default_factory=set)
    drills: list[dict[str, Any]] = field(default_factory=list)
    delta_customers: list[dict[str, Any]] = field(default_factory=list)
    delta_recognised: int = 0
    errors: Tally[str] = field(default_factory=Tally)


class Hub:
    """Talk to the hub as one enrolled device, retrying through restarts."""

    def __init__(self, site: BranchSite, device: str, staff: str | None = None) -> None:
        self.site = site
        self.device = device
        self.staff = staff
        self.ssl = site.device_context(device)
        self.token: str | None = None
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.ssl, limit=4),
            timeout=aiohttp.ClientTimeout(total=20),
        )

    async def login(self) -> None:
        """Log the staff member in on this device."""
        async with self.session.post(
            f"{self.site.url}/api/v1/login", json={"staff_id": self.staff, "pin": PIN}
        ) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"login {self.staff}: {resp.status} {body}")
            self.token = body["token"]

    def headers(self) -> dict[str, str]:
        """The bearer header when logged in."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def call(
        self, method: str, path: str, body: Any = None, *, retry: bool = True
    ) -> tuple[int, Any]:
        """One request; on a connection error or a lost session, wait for the hub and retry."""
        deadline = time.monotonic() + RETRY_S
        while True:
            try:
                if self.staff and self.token is None:
                    await self.login()
                async with self.session.request(
                    method, f"{self.site.url}{path}", json=body, headers=self.headers()
                ) as resp:
                    data = await resp.json(content_type=None)
                    if resp.status == 401 and self.staff:
                        self.token = None  # sessions live in the hub's memory: log in again
                        continue
                    return resp.status, data
            except (aiohttp.ClientError, TimeoutError, RuntimeError):
                if not retry or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.session.close()


class Day:
    """One simulated day."""

    def __init__(self, site: BranchSite, opts: DayOptions) -> None:
        self.site = site
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.rec = Record()
        self.t0 = 0.0
        self.arrivals_done = asyncio.Event()
        self.stop = asyncio.Event()
        self.start_hour = max(9.0, PEAK_HOUR - opts.hours / 2) if opts.hours < 8 else 9.0
        self.kiosk_locks = {st.id: asyncio.Lock() for st in site.stations}
        self.phases: dict[str, float] = {}
        self._delta_wait: asyncio.Task[None] | None = None

    # -- time ---------------------------------------------------------------------------
    def sim_min(self) -> float:
        """Simulated minutes since the day started."""
        return (time.monotonic() - self.t0) * self.opts.speed / 60.0

    async def sleep_sim(self, minutes: float) -> None:
        """Sleep for simulated minutes."""
        await asyncio.sleep(max(0.0, minutes) * 60.0 / self.opts.speed)

    def rate_per_min(self, minute: float) -> float:
        """Arrivals per simulated minute: 300/hour at the 10:30 peak, 45/hour off-peak."""
        hour = self.start_hour + minute / 60.0
        shape = max(0.15, math.exp(-(((hour - PEAK_HOUR) / 0.6) ** 2)))
        return PEAK_PER_HOUR * shape / 60.0

    # -- customers ----------------------------------------------------------------------
    async def arrivals(self) -> None:
        """Poisson arrivals (thinning against the peak rate)."""
        tasks: list[asyncio.Task[None]] = []
        end = self.opts.hours * 60.0
        peak = PEAK_PER_HOUR / 60.0
        t = 0.0
        while True:
            t += self.rng.expovariate(peak)
            if t >= end:
                break
            if self.rng.random() > self.rate_per_min(t) / peak:
                continue
            await self.sleep_sim(t - self.sim_min())
            tasks.append(asyncio.create_task(self.customer(len(tasks))))
        await asyncio.gather(*tasks, return_exceptions=False)
        self.arrivals_done.set()

    async def customer(self, n: int) -> None:
        """One arrival: a card or ID read at a kiosk, or a walk-in ticket."""
        rec = self.rec
        rec.arrivals += 1
        service = self.rng.choices([s for s, _ in SERVICE_MIX], [w for _, w in SERVICE_MIX])[0]
        station = self.site.stations[n % len(self.site.stations)]
        hub = self.kiosks[station.id]
        fault = self.rng.random() < self.opts.printer_fault_share
        if self.rng.random() >= self.opts.read_share:
            async with self.kiosk_locks[station.id]:
                await self._ticket(hub, station, service, None, fault)
            return
        rec.reads += 1
        pool = rec.delta_customers if rec.delta_customers and self.rng.random() < 0.2 else None
        customer = self.rng.choice(pool or self.site.customers)
        async with self.kiosk_locks[station.id]:
            at_kiosk = time.perf_counter()
            use_id = not customer["cards"] or self.rng.random() < 0.4
            if use_id:
                station.idreader.place(
                    0,
                    name=customer["name"],
                    gender=customer["gender"],
                    birth=customer["birth_date"],
                    id_number=customer["id_number"],
                )
            else:
                card = customer["cards"][0]
                from drivers.sim.magstripe import card_swipe

                station.msr.swipe(card_swipe(card["pan"], card["expiry"]))
            session = await self._await_session(hub)
            rec.read_ms.append((time.perf_counter() - at_kiosk) * 1000)
            if session is None:
                rec.read_fallback_walk_in += 1
            elif session.get("state") == "recognised":
                rec.recognised += 1
                if pool:
                    rec.delta_recognised += 1
            await self._ticket(
                hub, station, service, session.get("session_id") if session else None, fault
            )
            if use_id:
                station.idreader.remove()
            await hub.call("POST", "/api/v1/kiosk/session/end")
            rec.kiosk_ms.append((time.perf_counter() - at_kiosk) * 1000)

    async def _await_session(self, hub: Hub) -> dict[str, Any] | None:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            status, body = await hub.call("GET", "/api/v1/kiosk/session")
            if status == 200 and body.get("state") in ("recognised", "walk_in", "read_failed"):
                return dict(body)
            await asyncio.sleep(0.03)
        return None

    async def _ticket(
        self, hub: Hub, station: Any, service: str, session_id: str | None, fault: bool
    ) -> None:
        rec = self.rec
        if fault:
            station.printer.set_fault("paper_end")
            rec.printer_faults_injected += 1
        started = time.perf_counter()
        # Like the kiosk: one request id per customer choice, reused on every retry, so a
        # ticket issued by a hub that died before answering comes back instead of a second one.
        request_id = secrets.token_hex(12)
        try:
            deadline = time.monotonic() + RETRY_S
            while True:
                try:
                    status, body = await hub.call(
                        "POST",
                        "/api/v1/kiosk/tickets",
                        {"service": service, "session_id": session_id, "request_id": request_id},
                        retry=False,
                    )
                except (aiohttp.ClientError, TimeoutError):
                    # The hub may have issued the ticket and died before answering.
                    rec.ambiguous_ticket_posts += 1
                    if time.monotonic() > deadline:
                        rec.errors["ticket_gave_up"] += 1
                        return
                    await asyncio.sleep(0.3)
                    continue
                if status in (200, 201):  # 200: the ticket this request already has
                    break
                if status in (404, 409, 410) and session_id is not None:
                    session_id = None  # session gone with a restart: the customer takes a walk-in
                    continue
                rec.errors[f"ticket_{status}"] += 1
                return
        finally:
            if fault:
                station.printer.clear_faults()
        rec.ticket_ms.append((time.perf_counter() - started) * 1000)
        ticket = body["ticket"]
        if ticket["id"] in rec.tickets:
            rec.duplicate_ticket_ids += 1
        ticket["issued_r"] = time.monotonic()
        rec.tickets[ticket["id"]] = ticket
        if not body["print"]["ok"]:
            rec.print_failed += 1

    # -- counters -----------------------------------------------------------------------
    async def counter(self, cid: str) -> None:
        """Call next, read the brief, record lead outcomes, serve (lognormal), finish."""
        hub = self.counters[cid]
        idle_since: float | None = None
        while True:
            # One request id per press of "call next": a retry after a lost answer (the hub was
            # killed) gets the ticket the first press called, never a second one.
            press = {"request_id": secrets.token_hex(12)}
            status, body = await hub.call("POST", f"/api/v1/counters/{cid}/call-next", press)
            ticket = body.get("ticket") if status == 200 else None
            if ticket is None:
                if status != 200:
                    self.rec.errors[f"call_next_{status}"] += 1
                if self.arrivals_done.is_set():
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > 3.0:
                        return
                await self.sleep_sim(0.5)
                continue
            idle_since = None
            tid = ticket["id"]
            self.rec.called.setdefault(tid, (time.monotonic(), cid))
            visit = ticket.get("visit_id")
            if visit:
                await self._brief_and_outcomes(hub, visit)
            minutes = self.rng.lognormvariate(math.log(TYPICAL[ticket["service"]]), 0.45)
            await self.sleep_sim(minutes)
            done = {"request_id": secrets.token_hex(12)}
            status, body = await hub.call("POST", f"/api/v1/tickets/{tid}/finish", done)
            if status == 200:
                self.rec.finished.add(tid)
            else:
                self.rec.errors[f"finish_{status}"] += 1

    async def _brief_and_outcomes(self, hub: Hub, visit: str) -> None:
        started = time.perf_counter()
        status, brief = await hub.call("GET", f"/api/v1/visits/{visit}/brief")
        self.rec.briefs_ms.append((time.perf_counter() - started) * 1000)
        if status != 200:
            self.rec.errors[f"brief_{status}"] += 1
            return
        for lead in brief.get("leads") or []:
            outcome = self.rng.choice(["accepted", "declined", "follow_up", "not_interested"])
            path = f"/api/v1/visits/{visit}/leads/{lead['lead_id']}/outcome"
            body = {"outcome": outcome, "request_id": secrets.token_hex(12)}
            status, _ = await hub.call("POST", path, body)
            if status in (200, 201):
                self.rec.outcomes.add(f"{visit}:{lead['lead_id']}")
            else:
                self.rec.errors[f"outcome_{status}"] += 1

    # -- tablets ------------------------------------------------------------------------
    async def tablet(self, i: int) -> None:
        """Follow the live stream; drop now and then and resume with since=."""
        hub = self.tablets[i]
        seen = self.rec.tablet_seen[i]
        last = 0
        while not self.stop.is_set():
            try:
                if hub.token is None:
                    await hub.login()
                url = f"{self.site.url}/api/v1/events?since={last}"
                async with hub.session.ws_connect(url, headers=hub.headers(), heartbeat=5) as ws:
                    drop_at = time.monotonic() + self.rng.expovariate(1 / 20.0)
                    while not self.stop.is_set():
                        timeout = max(0.05, min(0.5, drop_at - time.monotonic()))
                        try:
                            msg = await ws.receive(timeout=timeout)
                        except TimeoutError:
                            if time.monotonic() >= drop_at and i % 2 == 0:
                                break  # half the tablets walk out of Wi-Fi range now and then
                            continue
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        event = json.loads(msg.data)
                        if isinstance(event, dict) and isinstance(event.get("seq"), int):
                            seen.add(event["seq"])
                            last = max(last, event["seq"])
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status == 401:
                    hub.token = None
                await asyncio.sleep(0.2)
            except (aiohttp.ClientError, TimeoutError, RuntimeError, OSError):
                await asyncio.sleep(0.2)
            self.rec.tablet_reconnects += 1

    # -- drills -------------------------------------------------------------------------
    async def drills(self) -> None:
        """kill -9 restarts at random moments, the WAN outage, the delta at the peak."""
        end = self.opts.hours * 60.0
        plan: list[tuple[float, str]] = [
            (self.rng.uniform(0.1, 0.9) * end, "restart") for _ in range(self.opts.restarts)
        ]
        if self.opts.outage_min > 0:
            start = self.rng.uniform(0.1, 0.5) * end
            plan += [(start, "wan_down"), (start + min(self.opts.outage_min, end * 0.4), "wan_up")]
        if self.opts.delta:
            peak = (PEAK_HOUR - self.start_hour) * 60.0
            plan.append((min(max(peak, 0.2 * end), 0.6 * end), "delta"))
        loop = asyncio.get_running_loop()
        for at, what in sorted(plan):
            await self.sleep_sim(at - self.sim_min())
            entry: dict[str, Any] = {"what": what, "at_sim_min": round(self.sim_min(), 1)}
            started = time.monotonic()
            if what == "restart":
                await loop.run_in_executor(None, self.site.restart_hub)
                entry["back_after_s"] = round(time.monotonic() - started, 2)
            elif what == "wan_down":
                await loop.run_in_executor(None, self.site.stop_collector)
            elif what == "wan_up":
                await loop.run_in_executor(None, self.site.start_collector)
            elif what == "delta":
                new = await loop.run_in_executor(None, self.site.publish_delta)
                entry["published_s"] = round(time.monotonic() - started, 2)
                self._delta_wait = asyncio.create_task(self._delta_applied(entry, new))
            self.rec.drills.append(entry)

    async def _delta_applied(self, entry: dict[str, Any], new: list[dict[str, Any]]) -> None:
        entry["applied_after_s"] = await self._wait_cache_sequence(len(self.site.published))
        self.rec.delta_customers = new

    async def _wait_cache_sequence(self, want: int) -> float | None:
        started = time.monotonic()
        hub = self.tablets[0]
        while time.monotonic() - started < 120:
            try:
                status, body = await hub.call("GET", "/api/v1/health")
                if status == 200 and int((body.get("cache") or {}).get("sequence") or 0) >= want:
                    return round(time.monotonic() - started, 2)
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.5)
        return None

    async def rss(self) -> None:
        """Sample the hub's peak RSS."""
        while not self.stop.is_set():
            self.site.sample_rss()
            await asyncio.sleep(1.0)

    # -- run ----------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        """Run the day and reconcile."""
        self.kiosks = {st.id: Hub(self.site, st.id) for st in self.site.stations}
        self.counters = {cid: Hub(self.site, cid, f"S-{cid}") for cid, _, _ in COUNTERS}
        self.tablets = [
            Hub(self.site, f"T{i + 1:02d}", f"S-T{i + 1:02d}") for i in range(self.opts.tablets)
        ]
        self.rec.tablet_seen = [set() for _ in self.tablets]
        await self._wait_cache_sequence(1)
        self.t0 = time.monotonic()
        background = [asyncio.create_task(self.tablet(i)) for i in range(len(self.tablets))]
        background.append(asyncio.create_task(self.rss()))
        drills = asyncio.create_task(self.drills())
        counters = [asyncio.create_task(self.counter(cid)) for cid in self.counters]
        await self.arrivals()
        self.phases["arrivals_s"] = round(time.monotonic() - self.t0, 1)
        await asyncio.wait_for(asyncio.gather(*counters), timeout=300)
        self.phases["drained_s"] = round(time.monotonic() - self.t0, 1)
        drills.cancel()
        if self.site.collector is None:
            await asyncio.get_running_loop().run_in_executor(None, self.site.start_collector)
        result = await self.reconcile()
        self._write_record()
        self.stop.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for hub in [*self.kiosks.values(), *self.counters.values(), *self.tablets]:
            await hub.close()
        return result

    def _write_record(self) -> None:
        """Everything the bench did and saw, one JSON line per ticket (no personal data)."""
        path = self.site.root / "bench-record.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for tid, t in self.rec.tickets.items():
                called = self.rec.called.get(tid)
                row = {
                    "ticket_id": tid,
                    "number": t["number"],
                    "service": t["service"],
                    "wait_min_estimate": t.get("wait_min"),
                    "issued_s": round(t["issued_r"] - self.t0, 3),
                    "called_s": round(called[0] - self.t0, 3) if called else None,
                    "counter": called[1] if called else None,
                    "finished": tid in self.rec.finished,
                }
                fh.write(json.dumps(row) + "\n")
            for drill in self.rec.drills:
                fh.write(json.dumps({"drill": drill}) + "\n")

    async def reconcile(self) -> dict[str, Any]:
        """Compare what the bench saw with the hub's records and HQ's collector."""
        rec, opts = self.rec, self.opts
        staff = self.tablets[0]
        _, visits = await staff.call("GET", "/api/v1/visits?state=all")
        _, health = await staff.call("GET", "/api/v1/health")
        last_seq = int(health["last_seq"])
        hub_tickets: dict[str, dict[str, Any]] = {}
        numbers: Tally[str] = Tally()
        priority: dict[str, bool] = {}
        for v in visits.get("visits", []):
            t = v["ticket"]
            numbers[t["number"]] += 1
            hub_tickets[t["id"]] = t
            priority[t["id"]] = bool(v.get("priority"))
        lost = [tid for tid in rec.tickets if tid not in hub_tickets]
        # Called at the hub, but no counter ever got the answer: a customer nobody serves.
        never_received = [
            tid for tid, t in hub_tickets.items() if t.get("called_at") and tid not in rec.called
        ]
        unacknowledged = [tid for tid in hub_tickets if tid not in rec.tickets]
        duplicated = rec.duplicate_ticket_ids + sum(n - 1 for n in numbers.values() if n > 1)
        # Tablets catch up once at the end (as after any reconnect), then every seq must be seen.
        for _ in range(100):  # bounded: 30 s
            if all(len(s) >= last_seq for s in rec.tablet_seen):
                break
            await asyncio.sleep(0.3)
        missed = sum(len(set(range(1, last_seq + 1)) - s) for s in rec.tablet_seen)
        self.phases["tablets_caught_up_s"] = round(time.monotonic() - self.t0, 1)
        # Outcomes reach HQ after the outage (the outbox backs off up to a few minutes).
        hq_wait_started = time.monotonic()
        loop = asyncio.get_running_loop()
        counts: dict[str, int] = {}
        while time.monotonic() - hq_wait_started < 240:
            counts = await loop.run_in_executor(None, self.site.collector_counts)
            if counts.get("lead_outcome", 0) >= len(rec.outcomes):
                break
            await asyncio.sleep(1.0)
        hq_caught_up_s = round(time.monotonic() - hq_wait_started, 1)
        waits = self._waits(priority)
        briefs = sorted(rec.briefs_ms)
        p99 = briefs[min(len(briefs) - 1, int(len(briefs) * 0.99))] if briefs else None
        return {
            "bench": "branch_day",
            "hours": opts.hours,
            "speed": opts.speed,
            "arrivals": rec.arrivals,
            "tickets_issued": len(rec.tickets),
            "tickets_at_hub": len(hub_tickets),
            "tickets_lost": len(lost),
            "tickets_duplicated": duplicated,
            "tickets_issued_unacknowledged": len(unacknowledged),
            "ambiguous_ticket_posts": rec.ambiguous_ticket_posts,
            "tickets_finished": len(rec.finished),
            "tickets_called_never_received": len(never_received),
            "reads": rec.reads,
            "recognised": rec.recognised,
            "read_fallback_walk_in": rec.read_fallback_walk_in,
            "printer_faults_injected": rec.printer_faults_injected,
            "tickets_print_failed": rec.print_failed,
            "events_at_hub": last_seq,
            "events_missed_by_tablets": missed,
            "tablets": len(rec.tablet_seen),
            "tablet_reconnects": rec.tablet_reconnects,
            "outcomes_created": len(rec.outcomes),
            "outcomes_received_at_hq": counts.get("lead_outcome", 0),
            "outcomes_duplicated_at_hq": counts.get("conflicts", 0),
            "outcome_redeliveries_deduplicated": counts.get("lead_outcome_deliveries", 0)
            - counts.get("lead_outcome", 0),
            "hq_caught_up_after_day_s": hq_caught_up_s,
            "briefs": len(briefs),
            "brief_p50_ms": round(statistics.median(briefs), 1) if briefs else None,
            "brief_p99_ms": round(p99, 1) if p99 is not None else None,
            "kiosk_read_p50_ms": _p50(rec.read_ms),
            "ticket_post_p50_ms": _p50(rec.ticket_ms),
            "kiosk_customer_p50_ms": _p50(rec.kiosk_ms),
            **waits,
            "delta_customers_recognised": rec.delta_recognised,
            "hub_restarts": self.site.restarts,
            "peak_rss_mb": round(self.site.peak_rss_kb / 1024, 1),
            "drills": rec.drills,
            "errors": dict(rec.errors),
            "phases_real_s": self.phases,
        }

    def _waits(self, priority: dict[str, bool]) -> dict[str, Any]:
        """Waits in simulated minutes; extra wait of ordinary customers behind priority calls."""
        scale = self.opts.speed / 60.0
        rows = []
        for tid, t in self.rec.tickets.items():
            if tid in self.rec.called:
                called, cid = self.rec.called[tid]
                rows.append((t["issued_r"], called, cid, t, priority.get(tid, False)))
        errors = []
        inside = 0
        for issued, called, _, t, _ in rows:
            lo, hi = t.get("wait_min") or [0, 0]
            # The hub estimates in its own (real) whole minutes: convert back to simulated minutes
            # (so the estimate's resolution is `speed` simulated minutes).
            actual = (called - issued) * scale
            errors.append(abs((lo + hi) / 2 * self.opts.speed - actual))
            inside += lo * self.opts.speed <= actual <= hi * self.opts.speed
        extra = 0.0
        by_service: dict[str, list[tuple[float, float]]] = {}
        for issued, called, _, t, prio in rows:
            if not prio:
                by_service.setdefault(t["service"], []).append((issued, called))
        prio_calls = [(called, cid) for _, called, cid, _, prio in rows if prio]
        for service, ordinary in by_service.items():
            ordinary.sort()
            prev_called = 0.0
            for issued, called in ordinary:
                head = max(issued, prev_called)
                if any(head <= c <= called and service in SERVES[cid] for c, cid in prio_calls):
                    extra = max(extra, (called - head) * scale)
                prev_called = max(prev_called, called)
        waits = [(called - issued) * scale for issued, called, *_ in rows]
        return {
            "wait_mean_min": round(statistics.fmean(waits), 1) if waits else None,
            "wait_max_min": round(max(waits), 1) if waits else None,
            "max_extra_wait_ordinary_min": round(extra, 1),
            "wait_estimate_mae_min": round(statistics.fmean(errors), 1) if errors else None,
            "wait_estimate_in_range_share": round(inside / len(rows), 3) if rows else None,
            "wait_estimate_resolution_min": self.opts.speed,
        }


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def run_day(
    opts: DayOptions,
    root: Path | None = None,
    keep: bool = False,
    render_tickets: bool = False,
    before_close: Callable[[BranchSite], None] | None = None,
) -> dict[str, Any]:
    """Build the branch, run the day, tear everything down; return the figures."""
    folder = root or Path(tempfile.mkdtemp(prefix="branch-day-"))
    site = BranchSite(
        folder,
        SiteOptions(
            customers=opts.customers,
            stations=opts.stations,
            tablets=opts.tablets,
            speed=opts.speed,
            seed=opts.seed,
            render_tickets=render_tickets,
        ),
    )
    started = time.monotonic()
    try:
        site.build()
        site.start_collector()
        site.start_hub()
        setup_s = time.monotonic() - started
        result = asyncio.run(Day(site, opts).run())
        if before_close is not None:
            before_close(site)
        result["setup_s"] = round(setup_s, 1)
        result["wall_s"] = round(time.monotonic() - started, 1)
        result["ok"] = (
            result["tickets_lost"] == 0
            and result["tickets_duplicated"] == 0
            and result["tickets_called_never_received"] == 0
            and result["events_missed_by_tablets"] == 0
            and result["outcomes_received_at_hq"] == result["outcomes_created"]
            and result["outcomes_duplicated_at_hq"] == 0
        )
        return result
    finally:
        site.close(keep=keep)


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the figures (JSON last)."""
    p = argparse.ArgumentParser(prog="python -m bench.branch_day", description=__doc__)
    p.add_argument("--hours", type=float, default=8.0, help="simulated hours (default 8)")
    p.add_argument("--speed", type=float, default=60.0, help="simulated s per real s (60)")
    p.add_argument("--customers", type=int, default=5000, help="HQ customers (default 5000)")
    p.add_argument("--restarts", type=int, default=3, help="kill -9 restarts (default 3)")
    p.add_argument("--tablets", type=int, default=20, help="tablet connections (default 20)")
    p.add_argument("--stations", type=int, default=4, help="kiosk stations (default 4)")
    p.add_argument("--outage-min", type=float, default=60.0, help="WAN outage, simulated min")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--keep", type=Path, default=None, help="keep the branch folder here")
    p.add_argument("--json", action="store_true", help="only the JSON line")
    args = p.parse_args(argv)
    opts = DayOptions(
        hours=args.hours,
        speed=args.speed,
        seed=args.seed,
        customers=args.customers,
        stations=args.stations,
        tablets=args.tablets,
        restarts=args.restarts,
        outage_min=args.outage_min,
    )
    result = run_day(opts, args.keep, keep=args.keep is not None)
    if not args.json:
        for key, value in result.items():
            print(f"{key}: {value}", file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
