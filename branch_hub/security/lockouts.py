"""Failed logins and enrolments: backoff per source, a branch-wide ceiling that only slows.

A source (a tablet for logins, a network address for enrolment) may fail `free` times; after
that each attempt must wait 1, 2, 4 ... seconds from its last failure, up to `cap_s`. A source's
count is forgotten after `quiet_s` without a failure. The branch-wide ceiling (`ceiling`
failures within `window_s`, from any source) never refuses a source that has not failed: it
takes away the free failures of those that have, and raises a hub alert until the failures
fall back under it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from branch_hub.alerts import Alert, HubAlerts
from branch_hub.security.audit import AuditSink
from branch_hub.vocabulary import HubAlertKind

__all__ = [
    "ENROL_BACKOFF",
    "LOGIN_BACKOFF",
    "Backoff",
    "Throttle",
    "enrol_throttle",
    "login_throttle",
    "retry_seconds",
    "source_key",
]


@dataclass(frozen=True)
class Backoff:
    """How a throttle slows failing sources and when the branch as a whole is under attack."""

    free: int  # failures a source may make before it has to wait (1 while over the ceiling)
    ceiling: int  # failures within `window_s`, all sources together, that raise the alert
    window_s: float = 600.0
    base_s: float = 1.0
    cap_s: float = 300.0
    quiet_s: float = 900.0  # a source's failures are forgotten after this long without one
    max_sources: int = 4096  # sources remembered at most (memory under a flood of addresses)

    def delay(self, failures: int, free: int) -> float:
        """Seconds a source with `failures` must wait after its last one: 1, 2, 4 ... from the
        `free`-th failure on."""
        if failures < free:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(failures - free, 32))


LOGIN_BACKOFF = Backoff(free=3, ceiling=60)
ENROL_BACKOFF = Backoff(free=5, ceiling=30)


@dataclass
class _Record:
    failures: int
    last_at: float


class Throttle:
    """Failures per source with exponential backoff, and a branch-wide ceiling with its alert."""

    def __init__(
        self, backoff: Backoff, alert: Alert, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backoff, self.alert, self.clock = backoff, alert, clock
        self._sources: OrderedDict[str, _Record] = OrderedDict()  # least recent failure first
        # The last `ceiling` failure times are all the ceiling needs: bounded under any flood.
        self._recent: deque[float] = deque(maxlen=backoff.ceiling)

    def over_ceiling(self) -> bool:
        """True while `ceiling` failures or more fell within the last `window_s`."""
        full = len(self._recent) == self._recent.maxlen
        return full and self.clock() - self._recent[0] <= self.backoff.window_s

    def retry_after(self, source: str) -> float:
        """Seconds this source must wait before its next attempt (0: it may try now)."""
        now = self.clock()
        record = self._record(source, now)
        if record is None:
            return 0.0
        free = 1 if self.over_ceiling() else self.backoff.free
        return max(0.0, self.backoff.delay(record.failures, free) - (now - record.last_at))

    def failed(self, source: str) -> None:
        """Count a failed attempt of this source."""
        now = self.clock()
        record = self._record(source, now)
        if record is None:
            self._make_room(now)
            record = self._sources[source] = _Record(0, now)
        record.failures += 1
        record.last_at = now
        self._sources.move_to_end(source)
        self._recent.append(now)

    def sources(self) -> int:
        """How many sources are remembered."""
        return len(self._sources)

    async def sound(self, alerts: HubAlerts, audit: AuditSink) -> None:
        """Raise the alert when over the ceiling, clear it when under; audit each change."""
        over = self.over_ceiling()
        changed = await (alerts.raise_alert(self.alert) if over else alerts.clear(self.alert.key))
        if not changed:
            return
        detail = {
            "alert": self.alert.key,
            "state": "raised" if over else "cleared",
            "ceiling": self.backoff.ceiling,
            "window_s": int(self.backoff.window_s),
        }
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: audit.record("attack_alert", detail=detail)
        )

    def _record(self, source: str, now: float) -> _Record | None:
        record = self._sources.get(source)
        if record is not None and now - record.last_at > self.backoff.quiet_s:
            del self._sources[source]
            return None
        return record

    def _make_room(self, now: float) -> None:
        """Forget sources gone quiet; under a flood of sources, the least recent ones."""
        while self._sources:
            oldest = next(iter(self._sources.values()))
            quiet = now - oldest.last_at > self.backoff.quiet_s
            if not quiet and len(self._sources) < self.backoff.max_sources:
                return
            self._sources.popitem(last=False)


def retry_seconds(wait: float) -> int:
    """A wait as the whole seconds of a `Retry-After` header (never 0 for a real wait)."""
    return max(1, math.ceil(wait))


def source_key(address: str) -> str:
    """The enrolment source of an address: IPv4 as is, IPv6 by its /64 (one host's share)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _minutes(backoff: Backoff) -> int:
    return round(backoff.window_s / 60)


def login_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    """The per-device login throttle with its `login_attack` alert."""
    alert = Alert(
        HubAlertKind.LOGIN_ATTACK,
        "login_attack",
        f"{LOGIN_BACKOFF.ceiling} or more failed staff logins within {_minutes(LOGIN_BACKOFF)} "
        "minutes across the branch's devices: devices with failures are slowed; check the "
        "tablets and the audit log.",
        f"{_minutes(LOGIN_BACKOFF)} 分钟内本网点设备员工登录失败达 {LOGIN_BACKOFF.ceiling} 次"
        "以上：出错的设备已被限速，请检查平板设备和审计日志。",
    )
    return Throttle(LOGIN_BACKOFF, alert, clock)


def enrol_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    """The per-address enrolment throttle with its `enrol_attack` alert."""
    alert = Alert(
        HubAlertKind.ENROL_ATTACK,
        "enrol_attack",
        f"{ENROL_BACKOFF.ceiling} or more failed device enrolments within "
        f"{_minutes(ENROL_BACKOFF)} minutes from the branch network: addresses with failures "
        "are slowed; look for an unknown device on the LAN.",
        f"{_minutes(ENROL_BACKOFF)} 分钟内网点网络上设备注册失败达 {ENROL_BACKOFF.ceiling} 次"
        "以上：出错的地址已被限速，请排查局域网中的陌生设备。",
    )
    return Throttle(ENROL_BACKOFF, alert, clock)
