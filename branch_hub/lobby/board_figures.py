"""The lobby board's figures, worked out from one snapshot of the queue and today's visits.

Pure: no clock, no database. Waiting per service and per tier, each tier's longest wait against
its target, priority customers nobody has claimed, counters open and idle. Tickets, tiers and
counters only: no name, no salutation, no customer id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from branch_hub.config import Tier
from branch_hub.lobby.visits import Visit
from branch_hub.queue import CounterView, Ticket, TicketState

__all__ = [
    "WALK_IN",
    "CounterState",
    "Snapshot",
    "TierWait",
    "Unclaimed",
    "WaitingFigures",
    "counter_states",
    "tally",
    "targets",
]

WALK_IN = "walk_in"  # the tier line of customers the cache did not recognise


@dataclass(frozen=True)
class Snapshot:
    """What the board is worked out from, read in one go."""

    at: datetime
    tickets: Sequence[Ticket]
    visits: Mapping[str, Visit]  # by ticket id
    claimed: frozenset[str]  # visit ids somebody has claimed


@dataclass(frozen=True)
class TierWait:
    """One tier's waiting customers and its longest wait against the tier's target."""

    tier: str
    waiting: int
    longest_wait_s: float
    longest_ticket: str | None
    target_s: float
    over_target: int  # customers of the tier waiting longer than the target

    def to_wire(self) -> dict[str, object]:
        """JSON form."""
        return {
            "tier": self.tier,
            "waiting": self.waiting,
            "longest_wait_s": self.longest_wait_s,
            "longest_ticket": self.longest_ticket,
            "target_s": self.target_s,
            "over_target": self.over_target,
        }


@dataclass(frozen=True)
class Unclaimed:
    """A priority customer waiting whom no member of staff has claimed."""

    visit_id: str
    ticket_id: str
    ticket: str
    tier: str
    waited_s: float
    alert: bool  # waited at least the alert threshold

    def to_wire(self) -> dict[str, object]:
        """JSON form (the ticket's number and the tier, never who it is)."""
        return {
            "visit_id": self.visit_id,
            "ticket": self.ticket,
            "tier": self.tier,
            "waited_s": self.waited_s,
            "alert": self.alert,
        }


@dataclass(frozen=True)
class CounterState:
    """A counter as the board shows it: open or closed, idle or serving a ticket."""

    counter_id: str
    number: int
    open: bool
    serving: str | None

    @property
    def idle(self) -> bool:
        """Open with nobody at it."""
        return self.open and self.serving is None

    def to_wire(self) -> dict[str, object]:
        """JSON form."""
        return {
            "counter_id": self.counter_id,
            "number": self.number,
            "open": self.open,
            "idle": self.idle,
            "serving": self.serving,
        }


@dataclass(frozen=True)
class WaitingFigures:
    """Who waits where, how long against the targets, and who is unclaimed."""

    services: Mapping[str, int]
    priority_waiting: Mapping[str, int]
    tiers: tuple[TierWait, ...]
    unclaimed: tuple[Unclaimed, ...]


def _seconds(now: datetime, since: datetime) -> float:
    return round(max(0.0, (now - since).total_seconds()), 1)


def _tier_of(visit: Visit | None) -> str:
    return visit.tier if visit is not None and visit.tier else WALK_IN


def targets(tiers: Iterable[Tier]) -> dict[str, float]:
    """Each tier's wait target; walk-ins are held to the lowest tier's."""
    ordered = sorted(tiers, key=lambda t: t.min_aum_cny)
    found = {t.code: t.wait_target_s for t in ordered}
    return found | {WALK_IN: ordered[0].wait_target_s} if ordered else found


def _tier_lines(
    now: datetime, waiting: Sequence[Ticket], snap: Snapshot, target_s: Mapping[str, float]
) -> tuple[TierWait, ...]:
    by_tier: dict[str, list[Ticket]] = {code: [] for code in target_s}
    for ticket in waiting:
        by_tier.setdefault(_tier_of(snap.visits.get(ticket.id)), []).append(ticket)
    lines = []
    for tier, tickets in by_tier.items():
        target = target_s.get(tier, target_s.get(WALK_IN, 0.0))
        waits = sorted(((_seconds(now, t.entered_at), t.number) for t in tickets), reverse=True)
        longest, number = waits[0] if waits else (0.0, None)
        over = sum(1 for wait, _ in waits if wait > target)
        lines.append(TierWait(tier, len(tickets), longest, number, target, over))
    return tuple(lines)


def _unclaimed(
    now: datetime, waiting: Sequence[Ticket], snap: Snapshot, alert_s: float
) -> tuple[Unclaimed, ...]:
    found = []
    for ticket in waiting:
        visit = snap.visits.get(ticket.id)
        if visit is None or not visit.priority or visit.visit_id in snap.claimed:
            continue
        waited = _seconds(now, ticket.issued_at)
        tier = _tier_of(visit)
        found.append(
            Unclaimed(visit.visit_id, ticket.id, ticket.number, tier, waited, waited >= alert_s)
        )
    return tuple(sorted(found, key=lambda u: (-u.waited_s, u.ticket)))


def tally(
    snap: Snapshot, services: Sequence[str], tiers: Iterable[Tier], unclaimed_alert_s: float
) -> WaitingFigures:
    """Work out the board's waiting figures from one snapshot."""
    waiting = [t for t in snap.tickets if t.state is TicketState.WAITING]
    counts = {code: 0 for code in services}
    priority = {code: 0 for code in services}
    for ticket in waiting:
        counts[ticket.service] = counts.get(ticket.service, 0) + 1
        priority[ticket.service] = priority.get(ticket.service, 0) + int(ticket.priority)
    return WaitingFigures(
        services=counts,
        priority_waiting=priority,
        tiers=_tier_lines(snap.at, waiting, snap, targets(tiers)),
        unclaimed=_unclaimed(snap.at, waiting, snap, unclaimed_alert_s),
    )


def counter_states(counters: Iterable[CounterView]) -> tuple[CounterState, ...]:
    """The counters in number order, each open or closed, idle or serving."""
    return tuple(
        CounterState(c.counter_id, c.number, c.open, c.current.number if c.current else None)
        for c in sorted(counters, key=lambda c: c.number)
    )
