"""The branch day's staff side: counters calling, serving and finishing; tablets on the stream."""

from __future__ import annotations

import asyncio
import json
import math
import random
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from branch_demo.day_client import Hub
from branch_demo.day_report import DayOptions, Record
from branch_demo.site import SERVICES, BranchSite
from branch_hub.client import DeclineReason

__all__ = ["StaffSide"]

TYPICAL = {code: minutes for code, _, _, _, minutes in SERVICES}


class StaffSide:
    """The counters and tablets of the day (mixed into `Day`, which owns the clock and record)."""

    site: BranchSite
    opts: DayOptions
    t0: float
    rec: Record
    rng: random.Random
    counters: dict[str, Hub]
    tablets: list[Hub]
    arrivals_done: asyncio.Event
    stop: asyncio.Event

    # -- time ---------------------------------------------------------------------------
    def sim_min(self) -> float:
        """Simulated minutes since the day started."""
        return (time.monotonic() - self.t0) * self.opts.speed / 60.0

    async def sleep_sim(self, minutes: float) -> None:
        """Sleep for simulated minutes."""
        await asyncio.sleep(max(0.0, minutes) * 60.0 / self.opts.speed)

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
        for lead in brief.get("leads") or []:  # only offered leads: never a held-back one
            path = f"/api/v1/visits/{visit}/leads/{lead['lead_id']}/outcome"
            body = self._judged(lead, self._outcome()) | {"request_id": secrets.token_hex(12)}
            status, _ = await hub.call("POST", path, body)
            if status in (200, 201):
                self.rec.outcomes.add(f"{visit}:{lead['lead_id']}")
            else:
                self.rec.errors[f"outcome_{status}"] += 1

    def _judged(self, lead: dict[str, Any], outcome: dict[str, str]) -> dict[str, str]:
        """The outcome, unless the brief says no product of the lead suits the customer."""
        named = lead.get("products") or []
        if any(p.get("suitability") != "not_in_catalogue" for p in named):
            self.rec.leads_naming_catalogue_products += 1
        if lead.get("not_suitable_reason"):
            self.rec.leads_not_suitable += 1
            return {"outcome": "not_suitable"}  # the hub refuses to record it offered (409)
        return outcome

    def _outcome(self) -> dict[str, str]:
        """A lead's outcome as staff record it: a decline with its reason, a follow-up's date."""
        outcome = self.rng.choice(["accepted", "declined", "follow_up", "not_suitable"])
        if outcome == "declined":
            return {"outcome": outcome, "reason": self.rng.choice(list(DeclineReason))}
        if outcome == "follow_up":
            day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=7)
            return {"outcome": outcome, "follow_up_on": day.isoformat()}
        return {"outcome": outcome}

    # -- catalogue ----------------------------------------------------------------------
    async def applied_catalogue(self, wait_s: float) -> dict[str, Any] | None:
        """The catalogue the hub serves (GET /catalogue), waiting up to `wait_s` for the first."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                status, body = await self.tablets[0].call("GET", "/api/v1/catalogue")
            except (aiohttp.ClientError, TimeoutError, RuntimeError):
                status, body = 0, None
            if status == 200:
                return dict(body)
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.3)

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
