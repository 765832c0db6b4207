"""Queue figures from the queue's event log: arrivals, recognition, tickets, waits, service, idle.

Input is each business day's queue events in commit order (the `events` table's JSON bodies,
which carry the ticket as it was after the change) and the day's visits (tier and how the
customer was recognised). Nothing here names a customer: tickets are counted, never listed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.lobby.visits import Visit
from branch_hub.reports.stats import duration_summary, percentile, share

__all__ = ["LEGACY_CARD", "METHODS", "WALK_IN", "QueueTally", "method_of"]

WALK_IN = "walk_in"
# How a kiosk read became a customer (the visit's `identified_by` -> the report's key).
METHODS = {
    "chip": "chip_card",
    "stripe": "stripe",
    "passbook": "passbook",
    "id_number": "id_card",
}
# Visits stored before chip and stripe were told apart say "pan": which it was is not known, so
# they count under a key of their own, shown only when a period holds any.
LEGACY_CARD = "card"
_LEGACY = {"pan": LEGACY_CARD}
# The appointment QR shown to the kiosk's camera: a key of its own, shown when a period holds any.
APPOINTMENT_QR = "appointment_qr"
_OCCASIONAL = {"appointment_qr": APPOINTMENT_QR}
# Events after which the staff member who did it is free for the next customer.
_ENDS = frozenset({"finished", "no_show", "transferred", "parked"})


def method_of(visit: Visit) -> str:
    """The recognition method a visit counts under (walk-in when the cache did not know it)."""
    if visit.walk_in:
        return WALK_IN
    by = visit.identified_by or ""
    return METHODS.get(by) or _OCCASIONAL.get(by) or _LEGACY.get(by, WALK_IN)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class _Idle:
    """One staff member's idle time: since when they are free, and the waited part so far."""

    since: datetime | None = None
    waited_s: float = 0.0
    total_s: float = 0.0
    pending_s: float = 0.0  # waited time of the open gap, counted once the next call closes it


@dataclass
class QueueTally:
    """Accumulates queue figures day by day."""

    zone: ZoneInfo
    targets: Mapping[str, float]
    by_hour: Counter[int] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)
    unknown_reads: int = 0
    by_service: Counter[str] = field(default_factory=Counter)
    by_tier: Counter[str] = field(default_factory=Counter)
    waits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    no_shows: int = 0
    transfers: int = 0
    service: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    idle: dict[str, _Idle] = field(default_factory=dict)

    def add_day(self, events: Iterable[Mapping[str, Any]], visits: Iterable[Visit]) -> None:
        """Count one business day."""
        tiers: dict[str, str] = {}
        for visit in visits:
            self.methods[method_of(visit)] += 1
            self.unknown_reads += visit.walk_in and visit.identified_by is not None
            tiers[visit.ticket_id] = visit.tier or WALK_IN
        waiting: set[str] = set()
        called: set[str] = set()
        last: datetime | None = None
        for event in events:
            at = _time(event["at"])
            if last is not None and waiting:
                self._idle_passes(at, last)
            last = at
            self._event(event, at, tiers, called)
            ticket = event.get("ticket")
            if ticket is not None:
                if ticket["state"] == "waiting":
                    waiting.add(ticket["id"])
                else:
                    waiting.discard(ticket["id"])
        for idle in self.idle.values():  # a gap open at the day's end is not counted
            idle.since, idle.pending_s = None, 0.0

    def _idle_passes(self, at: datetime, last: datetime) -> None:
        for idle in self.idle.values():
            if idle.since is not None:
                idle.pending_s += (at - max(last, idle.since)).total_seconds()

    def _event(
        self, event: Mapping[str, Any], at: datetime, tiers: Mapping[str, str], called: set[str]
    ) -> None:
        kind, ticket = event["kind"], event.get("ticket")
        staff = (event.get("actor") or {}).get("staff_id")
        if kind == "ticket_issued" and ticket is not None:
            self.by_hour[_time(ticket["issued_at"]).astimezone(self.zone).hour] += 1
            self.by_service[ticket["services"][0]] += 1
            self.by_tier[tiers.get(ticket["id"], WALK_IN)] += 1
        elif kind == "called" and ticket is not None:
            if ticket["id"] not in called:
                called.add(ticket["id"])
                wait = (at - _time(ticket["issued_at"])).total_seconds()
                self.waits[tiers.get(ticket["id"], WALK_IN)].append(wait)
            if staff is not None:
                self._call(staff, at)
        elif kind == "counter_closed" and staff is not None:
            self.idle.setdefault(staff, _Idle()).since = None
        self.no_shows += kind == "no_show"
        self.transfers += kind == "transferred"
        if kind == "finished":
            self._served(event, staff)
        if kind in _ENDS and staff is not None:
            idle = self.idle.setdefault(staff, _Idle())
            idle.since, idle.pending_s = at, 0.0

    def _call(self, staff: str, at: datetime) -> None:
        idle = self.idle.setdefault(staff, _Idle())
        if idle.since is not None:
            idle.total_s += (at - idle.since).total_seconds()
            idle.waited_s += idle.pending_s
        idle.since, idle.pending_s = None, 0.0

    def _served(self, event: Mapping[str, Any], staff: str | None) -> None:
        detail = event.get("detail") or {}
        seconds = float(detail.get("service_s") or 0.0)
        self.service[("service", str(detail.get("service")))].append(seconds)
        self.service[("counter", str(event.get("counter_id")))].append(seconds)
        if staff is not None:
            self.service[("staff", staff)].append(seconds)

    def _by_method(self) -> dict[str, int]:
        counts = {m: self.methods.get(m, 0) for m in (*METHODS.values(), WALK_IN)}
        for occasional in (LEGACY_CARD, APPOINTMENT_QR):
            if self.methods.get(occasional):
                counts[occasional] = self.methods[occasional]
        return counts

    def figures(self) -> dict[str, Any]:
        """The queue part of the report (the per-staff part is `staff_figures`)."""
        visits = sum(self.methods.values())
        return {
            "arrivals": {
                "total": sum(self.by_hour.values()),
                "by_hour": [{"hour": h, "arrivals": n} for h, n in sorted(self.by_hour.items())],
            },
            "recognition": {
                "visits": visits,
                "by_method": self._by_method(),
                "recognised_share": share(visits - self.methods.get(WALK_IN, 0), visits),
                "unknown_reads": self.unknown_reads,
            },
            "tickets": {
                "by_service": dict(sorted(self.by_service.items())),
                "by_tier": dict(sorted(self.by_tier.items())),
            },
            "waits": [
                self._wait_line(tier) for tier in sorted(set(self.waits) | set(self.by_tier))
            ],
            "no_shows": self.no_shows,
            "transfers": self.transfers,
            "service_times": {
                group: [
                    {"key": key} | duration_summary(values)
                    for (g, key), values in sorted(self.service.items())
                    if g == group
                ]
                for group in ("service", "counter")
            },
        }

    def _wait_line(self, tier: str) -> dict[str, Any]:
        waits = self.waits.get(tier, [])
        target = self.targets.get(tier)
        breaches = sum(w > target for w in waits) if target is not None else None
        return {
            "tier": tier,
            "called": len(waits),
            "p50_s": percentile(waits, 0.5),
            "p90_s": percentile(waits, 0.9),
            "target_s": target,
            "breaches": breaches,
            "breach_share": share(breaches, len(waits)) if breaches is not None else None,
        }

    def staff_figures(self) -> dict[str, dict[str, Any]]:
        """Per staff member: service time summary and idle time (total, and while others waited)."""
        out: dict[str, dict[str, Any]] = {}
        for (group, staff), values in self.service.items():
            if group == "staff":
                out[staff] = {"service": duration_summary(values)}
        for staff, idle in self.idle.items():
            line = out.setdefault(staff, {"service": duration_summary([])})
            line["idle_s"] = round(idle.total_s, 1)
            line["idle_while_waiting_s"] = round(idle.waited_s, 1)
        return out
