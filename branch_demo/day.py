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
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from branch_demo.day_client import Hub
from branch_demo.day_drills import PEAK_HOUR, Drills
from branch_demo.day_report import DayOptions, HubSeen, Record, lost_cause, report, write_record
from branch_demo.site import COUNTERS, SERVICES, BranchSite, SiteOptions
from branch_demo.site_files import READING_S

__all__ = ["DayOptions", "main", "run_day"]

PEAK_PER_HOUR = 300.0
SERVICE_MIX = [("cash", 0.55), ("account", 0.25), ("wealth", 0.1), ("loan", 0.1)]
TYPICAL = {code: minutes for code, _, _, _, minutes in SERVICES}
SERVES = {cid: set(services) for cid, _, services in COUNTERS}
RETRY_S = 60.0  # real seconds a client keeps retrying while the hub restarts


class Day(Drills):
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
            read_at = time.monotonic()
            session = await self._await_session(hub)
            session_at = time.monotonic()
            rec.read_ms.append((time.perf_counter() - at_kiosk) * 1000)
            if session is None:
                rec.read_fallback_walk_in += 1
            elif session.get("state") == "recognised":
                rec.recognised += 1
                if pool:
                    rec.delta_recognised += 1
            recognised = session is not None and session.get("state") == "recognised"
            kept = await self._ticket(
                hub, station, service, session.get("session_id") if session else None, fault
            )
            if not (recognised and kept):
                rec.reads_walk_in += 1  # every read customer is known: a restart lost this one
                device = "id_card" if use_id else "stripe"
                rec.lost[lost_cause(rec.kills, device, read_at, session_at, session)] += 1
            if use_id:
                station.idreader.remove()
            await hub.call("POST", "/api/v1/kiosk/session/end")
            rec.kiosk_ms.append((time.perf_counter() - at_kiosk) * 1000)

    async def _await_session(self, hub: Hub) -> dict[str, Any] | None:
        # As the kiosk: "reading" until the session comes, through a restart (it fetches the
        # session when the hub is back), bounded by the kiosk's reading time-out.
        deadline = time.monotonic() + READING_S
        while time.monotonic() < deadline:
            status, body = await hub.call("GET", "/api/v1/kiosk/session")
            if status == 200 and body.get("state") in ("recognised", "walk_in", "read_failed"):
                return dict(body)
            await asyncio.sleep(0.03)
        return None

    async def _ticket(
        self, hub: Hub, station: Any, service: str, session_id: str | None, fault: bool
    ) -> bool:
        """Take the ticket; False when the session was lost on the way (a walk-in ticket)."""
        rec = self.rec
        kept = session_id is not None
        refetch = True
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
                        return False
                    await asyncio.sleep(0.3)
                    continue
                if status in (200, 201):  # 200: the ticket this request already has
                    break
                if status in (404, 409, 410) and session_id is not None:
                    # The session died with the hub. Like the kiosk after a reconnect, fetch the
                    # station's session: an ID card still on the reader has been read again.
                    again = await self._await_session(hub) if refetch else None
                    refetch = False
                    session_id = again.get("session_id") if again else None
                    kept = again is not None and again.get("state") == "recognised"
                    continue
                rec.errors[f"ticket_{status}"] += 1
                return False
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
        return kept

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
        await self.applied_catalogue(wait_s=60)  # briefs judge the leads' products from here on
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
        write_record(self.site.root / "bench-record.jsonl", self.rec, self.t0)
        self.stop.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for hub in [*self.kiosks.values(), *self.counters.values(), *self.tablets]:
            await hub.close()
        return result

    async def reconcile(self) -> dict[str, Any]:
        """Compare what the bench saw with the hub's records and HQ's collector."""
        rec = self.rec
        staff = self.tablets[0]
        _, visits = await staff.call("GET", "/api/v1/visits?state=all")
        _, health = await staff.call("GET", "/api/v1/health")
        last_seq = int(health["last_seq"])
        # Tablets catch up once at the end (as after any reconnect), then every seq must be seen.
        for _ in range(100):  # bounded: 30 s
            if all(len(s) >= last_seq for s in rec.tablet_seen):
                break
            await asyncio.sleep(0.3)
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
        seen = HubSeen.of(visits, last_seq, counts, round(time.monotonic() - hq_wait_started, 1))
        seen.catalogue = await self.applied_catalogue(wait_s=0)
        site = {
            "hub_restarts": self.site.restarts,
            "peak_rss_mb": round(self.site.peak_rss_kb / 1024, 1),
            "phases_real_s": self.phases,
        }
        return report(rec, self.opts.hours, self.opts.speed, seen) | site


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
            and bool(result["catalogue_sequence"])  # the hub applied HQ's product catalogue
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
