"""What the tablet knows about hand-offs: colleagues, offers to me, my customers' arrivals.

Memory only, dropped with the session (`TabletState.clear`); nothing here is written to disk.
Each visit's latest hand-off (who gave it, to whom, where the customer was taken, who accepted)
comes with the visit list and is kept current from the `handoff` and `handoff_accepted` events.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from branch_hub.client import EventKind
from branch_hub.client.models import StaffMember, VisitRow

__all__ = ["ArrivalAlert", "HandoffMemory", "HandoffOffer", "VisitHandover"]

_ENDED = frozenset({EventKind.FINISHED, EventKind.NO_SHOW})
MAX_OFFERS = 20


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class VisitHandover:
    """A visit's latest hand-off as the lists show it."""

    by: str
    to_staff_id: str | None
    to_role: str | None
    location: str | None
    accepted_by: str | None = None


@dataclass(frozen=True)
class HandoffOffer:
    """A customer handed to me (or my role) that I have not accepted yet."""

    visit_id: str
    by: str
    location: str | None


@dataclass(frozen=True)
class ArrivalAlert:
    """One of my own customers (I am their relationship manager) has arrived."""

    visit_id: str
    ticket: str
    salutation_zh: str | None


@dataclass
class HandoffMemory:
    """Colleagues, hand-offs of the day's visits, offers to me and my customers' arrivals."""

    colleagues: dict[str, StaffMember] = field(default_factory=dict)
    handovers: dict[str, VisitHandover] = field(default_factory=dict)
    offers: OrderedDict[str, HandoffOffer] = field(default_factory=OrderedDict)
    alerts: OrderedDict[str, ArrivalAlert] = field(default_factory=OrderedDict)
    picking: str | None = None  # the visit whose hand-off picker is open
    location: str | None = None  # the place chosen in the picker

    def load(self, rows: Iterable[VisitRow | Mapping[str, Any]], me: str, role: str) -> None:
        """Take each visit's hand-off from a snapshot of the list (offers to me included)."""
        self.handovers.clear()
        self.offers.clear()
        for row in rows:
            if not isinstance(row, VisitRow) or row.handoff is None:
                continue
            h = row.handoff
            given = VisitHandover(h.by, h.to_staff_id, h.to_role, h.location, h.accepted_by)
            self.handovers[row.visit_id] = given
            if h.accepted_by is None and row.ticket.state not in ("finished", "no_show"):
                self._offer(row.visit_id, given, me, role)

    def _offer(self, visit_id: str, given: VisitHandover, me: str, role: str) -> None:
        if given.to_staff_id == me or (given.to_staff_id is None and given.to_role == role):
            self.offers[visit_id] = HandoffOffer(visit_id, given.by, given.location)
            while len(self.offers) > MAX_OFFERS:
                self.offers.popitem(last=False)

    def on_event(self, kind: EventKind, data: Mapping[str, Any], me: str, role: str) -> bool:
        """Apply a stream event; True when it changed something shown."""
        visit_id = _str(data.get("visit_id"))
        if visit_id is None:
            return False
        if kind is EventKind.HANDOFF:
            by = _str(data.get("by")) or "?"
            given = VisitHandover(
                by,
                _str(data.get("to_staff_id")),
                _str(data.get("to_role")),
                _str(data.get("location")),
            )
            self.handovers[visit_id] = given
            self.offers.pop(visit_id, None)
            self._offer(visit_id, given, me, role)
            return True
        if kind is EventKind.HANDOFF_ACCEPTED:
            known = self.handovers.get(visit_id)
            accepted_by = _str(data.get("accepted_by"))
            if known is not None:
                self.handovers[visit_id] = replace(known, accepted_by=accepted_by)
            self.offers.pop(visit_id, None)
            return True
        if kind is EventKind.MANAGER_ALERT:
            if data.get("staff_id") != me:
                return False
            ticket = _str(data.get("ticket")) or "?"
            alert = ArrivalAlert(visit_id, ticket, _str(data.get("salutation_zh")))
            self.alerts[visit_id] = alert
            return True
        if kind in _ENDED:
            gone = self.offers.pop(visit_id, None), self.alerts.pop(visit_id, None)
            return any(g is not None for g in gone)
        return False

    def take_alerts(self, alerts: Iterable[Any]) -> None:
        """My customers' arrivals as the hub keeps them (after a login)."""
        for a in alerts:
            self.alerts[a.visit_id] = ArrivalAlert(a.visit_id, a.ticket, a.salutation_zh)

    def clear(self) -> None:
        """Forget everything (logout)."""
        self.colleagues.clear()
        self.handovers.clear()
        self.offers.clear()
        self.alerts.clear()
        self.picking = self.location = None
