"""The branch day's drills: kill -9 restarts, the WAN outage and HQ's delta; the hub's RSS."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from branch_demo.day_staff import StaffSide

__all__ = ["PEAK_HOUR", "Drills"]

PEAK_HOUR = 10.5


class Drills(StaffSide):
    """The faults of the day (mixed into `Day`, which owns the clock and record)."""

    start_hour: float
    _delta_wait: asyncio.Task[None] | None

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
                self.rec.kills.append(started)
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
