"""The disk reserve: space on the hub's data disk kept for the writes that keep the branch serving.

A background check reads the free space of the data folder every few seconds (off the event
loop). Under the reserve, writes that can wait (app reports, notes) are refused and staff get a
`disk_low` hub alert; tickets, calls, outcomes for HQ, logins and the audit log go on writing
into the reserve. The alert ends when the free space is back over the reserve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from branch_hub.alerts import Alert, HubAlerts
from branch_hub.vocabulary import HubAlertKind

__all__ = ["DiskReserve", "free_bytes"]

log = logging.getLogger("branch_hub.disk")

MB = 1024 * 1024
# Back over the reserve by this share before the alert ends: no flapping at the edge.
_HYSTERESIS = 0.05


def free_bytes(folder: Path) -> int:
    """Bytes an unprivileged writer may still use on the folder's file system."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


class DiskReserve:
    """Whether the data disk is under its reserve, as last measured."""

    KEY = "disk_low"

    def __init__(
        self,
        folder: Path,
        reserve_bytes: int,
        alerts: HubAlerts,
        *,
        interval_s: float = 2.0,
        measure: Callable[[Path], int] = free_bytes,
    ) -> None:
        self.folder = folder
        self.reserve_bytes = reserve_bytes
        self.interval_s = interval_s
        self.low = False
        self.free: int | None = None
        self._alerts = alerts
        self._measure = measure

    async def check(self) -> bool:
        """Measure the free space now, raise or clear the alert; True when under the reserve."""
        if self.reserve_bytes <= 0:
            return False
        loop = asyncio.get_running_loop()
        try:
            free = await loop.run_in_executor(None, self._measure, self.folder)
        except OSError as exc:
            log.warning("cannot read the free space of %s: %s", self.folder, exc)
            return self.low
        self.free = free
        if free < self.reserve_bytes:
            self.low = True
            await self._alerts.raise_alert(self._alert(free))
        elif free >= self.reserve_bytes * (1 + _HYSTERESIS):
            self.low = False
            await self._alerts.clear(self.KEY)
        return self.low

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `interval_s` until `stop` is set."""
        while not stop.is_set():
            await self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval_s)

    def _alert(self, free: int) -> Alert:
        reserve = self.reserve_bytes // MB
        return Alert(
            HubAlertKind.DISK_LOW,
            self.KEY,
            f"The hub's disk has {free // MB} MB free, under its {reserve} MB reserve: app "
            "reports and notes are refused until space is freed; tickets, calls, outcomes and "
            "the audit log carry on. Tell branch IT.",
            f"集线器磁盘仅剩 {free // MB} MB，低于保留的 {reserve} MB：暂停接收应用报告和备注，"
            "取号、叫号、商机结果和审计记录照常进行。请通知网点技术人员清理空间。",
        )
