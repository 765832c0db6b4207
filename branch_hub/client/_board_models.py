"""The lobby board a lobby or branch manager reads (GET /lobby/board): figures, links, alerts.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else. Tickets, tiers, counters and stations only: the board names no customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._wire import Reader

__all__ = [
    "BoardAlert",
    "BoardCounter",
    "BoardDevice",
    "CacheAge",
    "HqLink",
    "LobbyBoard",
    "TierWait",
    "UnclaimedCustomer",
]


def _opt_number(r: Reader, key: str) -> float | None:
    return None if r.data.get(key) is None else r.number(key)


def _counts(r: Reader, key: str) -> dict[str, int]:
    counts = r.obj(key)
    return {name: counts.whole(name) for name in counts.data}


def _wait_minutes(r: Reader) -> dict[str, tuple[int, int]]:
    """The optional per-service [low, high] pairs (a hub before them sends none)."""
    if not r.has("wait_min"):
        return {}
    pairs = r.obj("wait_min")
    return {code: pairs.minutes(code) for code in pairs.data}


@dataclass(frozen=True)
class TierWait:
    """One tier's waiting customers and its longest wait against the tier's target."""

    tier: str
    waiting: int
    longest_wait_s: float
    longest_ticket: str | None
    target_s: float
    over_target: int

    @property
    def over(self) -> bool:
        """Someone of this tier waits longer than the target."""
        return self.over_target > 0

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "tier": self.tier,
            "waiting": self.waiting,
            "longest_wait_s": self.longest_wait_s,
            "longest_ticket": self.longest_ticket,
            "target_s": self.target_s,
            "over_target": self.over_target,
        }

    @classmethod
    def from_wire(cls, body: object) -> TierWait:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "tier wait")
        return cls(
            r.text("tier"),
            r.whole("waiting"),
            r.number("longest_wait_s"),
            r.opt_text("longest_ticket"),
            r.number("target_s"),
            r.whole("over_target"),
        )


@dataclass(frozen=True)
class UnclaimedCustomer:
    """A priority customer waiting whom nobody has claimed (ticket and tier only)."""

    visit_id: str
    ticket: str
    tier: str
    waited_s: float
    alert: bool

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "ticket": self.ticket,
            "tier": self.tier,
            "waited_s": self.waited_s,
            "alert": self.alert,
        }

    @classmethod
    def from_wire(cls, body: object) -> UnclaimedCustomer:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "unclaimed customer")
        return cls(
            r.text("visit_id"),
            r.text("ticket"),
            r.text("tier"),
            r.number("waited_s"),
            r.flag("alert"),
        )


@dataclass(frozen=True)
class BoardCounter:
    """A counter: open or closed, idle or serving a ticket."""

    counter_id: str
    number: int
    open: bool
    idle: bool
    serving: str | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "counter_id": self.counter_id,
            "number": self.number,
            "open": self.open,
            "idle": self.idle,
            "serving": self.serving,
        }

    @classmethod
    def from_wire(cls, body: object) -> BoardCounter:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "board counter")
        return cls(
            r.text("counter_id"),
            r.whole("number"),
            r.flag("open"),
            r.flag("idle"),
            r.opt_text("serving"),
        )


@dataclass(frozen=True)
class BoardDevice:
    """A station device that is not well now (paper low or out, cover open, offline, fault)."""

    station: str
    device: str
    condition: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"station": self.station, "device": self.device, "condition": self.condition}

    @classmethod
    def from_wire(cls, body: object) -> BoardDevice:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "board device")
        return cls(r.text("station"), r.text("device"), r.text("condition"))


@dataclass(frozen=True)
class CacheAge:
    """How old the customer cache is (None: no cache yet) and whether that is too old."""

    age_s: float | None
    stale: bool
    sequence: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"age_s": self.age_s, "stale": self.stale, "sequence": self.sequence}

    @classmethod
    def from_wire(cls, body: object) -> CacheAge:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "cache age")
        return cls(_opt_number(r, "age_s"), r.flag("stale"), r.whole("sequence"))


@dataclass(frozen=True)
class HqLink:
    """The link to HQ: up, down or off (no collector), the backlog and the last delivery."""

    link: str
    pending: int
    oldest_pending_at: str | None
    last_sent_at: str | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "link": self.link,
            "pending": self.pending,
            "oldest_pending_at": self.oldest_pending_at,
            "last_sent_at": self.last_sent_at,
        }

    @classmethod
    def from_wire(cls, body: object) -> HqLink:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "hq link")
        return cls(
            r.text("link"),
            r.whole("pending"),
            r.opt_text("oldest_pending_at"),
            r.opt_text("last_sent_at"),
        )


@dataclass(frozen=True)
class BoardAlert:
    """A lobby alert that is up now (the same as its `hub_alert` event)."""

    alert: str
    key: str
    message: str
    message_zh: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "alert": self.alert,
            "key": self.key,
            "message": self.message,
            "message_zh": self.message_zh,
        }

    @classmethod
    def from_wire(cls, body: object) -> BoardAlert:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "board alert")
        return cls(r.text("alert"), r.text("key"), r.text("message"), r.text("message_zh"))


@dataclass(frozen=True)
class LobbyBoard:
    """GET /lobby/board: waiting per service and tier, unclaimed priority customers, counters,
    station devices, the cache's age, the HQ link and the lobby alerts that are up."""

    at: str
    waiting: dict[str, int]
    priority_waiting: dict[str, int]
    tiers: tuple[TierWait, ...]
    unclaimed: tuple[UnclaimedCustomer, ...]
    unclaimed_alert_s: float
    counters: tuple[BoardCounter, ...]
    counters_open: int
    counters_idle: int
    devices: tuple[BoardDevice, ...]
    cache: CacheAge
    hq: HqLink
    alerts: tuple[BoardAlert, ...]
    wait_min: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per service, the whole-minute wait a ticket issued now gets ((0, 0): "next"; show it
    with `wait_words`, as the kiosk, the ticket and the display do)."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        out = self._wire()
        if self.wait_min:
            out["wait_min"] = {code: list(pair) for code, pair in self.wait_min.items()}
        return out

    def _wire(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "waiting": dict(self.waiting),
            "priority_waiting": dict(self.priority_waiting),
            "tiers": [t.to_wire() for t in self.tiers],
            "unclaimed": [u.to_wire() for u in self.unclaimed],
            "unclaimed_alert_s": self.unclaimed_alert_s,
            "counters": [c.to_wire() for c in self.counters],
            "counters_open": self.counters_open,
            "counters_idle": self.counters_idle,
            "devices": [d.to_wire() for d in self.devices],
            "cache": self.cache.to_wire(),
            "hq": self.hq.to_wire(),
            "alerts": [a.to_wire() for a in self.alerts],
        }

    @classmethod
    def from_wire(cls, body: object) -> LobbyBoard:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "lobby board")
        return cls(
            r.text("at"),
            _counts(r, "waiting"),
            _counts(r, "priority_waiting"),
            r.items("tiers", TierWait.from_wire),
            r.items("unclaimed", UnclaimedCustomer.from_wire),
            r.number("unclaimed_alert_s"),
            r.items("counters", BoardCounter.from_wire),
            r.whole("counters_open"),
            r.whole("counters_idle"),
            r.items("devices", BoardDevice.from_wire),
            CacheAge.from_wire(r.data.get("cache")),
            HqLink.from_wire(r.data.get("hq")),
            r.items("alerts", BoardAlert.from_wire),
            _wait_minutes(r),
        )
