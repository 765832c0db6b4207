"""What the tablet knows while a staff member is logged in: pure data, no window, no network.

Everything here lives in memory only and `TabletState.clear()` drops all of it (logout, pause,
idle timeout, revocation). Nothing in this module ever writes to disk.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from branch_hub.client import EventKind, Role, WireError
from branch_hub.client.models import (
    BranchReport,
    Brief,
    LobbyBoard,
    PushEvent,
    QueueTargets,
    ServedTicket,
    VisitRow,
    VisitTimeline,
)
from tablet.handoff_state import HandoffMemory
from tablet.i18n import N_, chinese, either, said

__all__ = [
    "ROLE_SCREENS",
    "Alert",
    "Arrival",
    "LiveBoard",
    "Notification",
    "StaffSession",
    "TabletState",
    "screen_for",
]

# Which work screen each role opens after login.
ROLE_SCREENS: dict[str, str] = {
    Role.LOBBY_MANAGER: "lobby",
    Role.BRANCH_ADMIN: "board",
    Role.WEALTH_MANAGER: "advisor",
    Role.ACCOUNT_MANAGER: "advisor",
    Role.TELLER: "counter",
}

# Ticket events, and those after which a visit leaves the live list.
_DONE_KINDS = frozenset({EventKind.FINISHED, EventKind.NO_SHOW})
_TICKET_KINDS = frozenset(
    {
        EventKind.CALLED,
        EventKind.RECALLED,
        EventKind.NO_SHOW,
        EventKind.TRANSFERRED,
        EventKind.FINISHED,
        EventKind.TICKET_UPDATED,
    }
)
# Device alerts in the words staff use (unknown codes are shown as they come).
_DEVICES = {"card_reader": N_("card reader"), "id_reader": N_("ID card reader")}
_DEVICES |= {"magstripe": N_("magnetic stripe reader"), "printer": N_("printer")}
_CONDITIONS = {"fault": N_("fault"), "paper_low": N_("paper low"), "paper_out": N_("out of paper")}
_CONDITIONS |= {"error": N_("error"), "cover_open": N_("cover open"), "offline": N_("offline")}
_CONDITIONS |= {"unavailable": N_("unavailable")}
# A ticket_updated event's state as the list keeps it (parked at a counter, resumed, cancelled).
_UPDATED_STATES = {"parked": "parked", "called": "serving", "waiting": "waiting"}
_UPDATED_STATES |= {"cancelled": "done", "finished": "done"}
MAX_VISITS = 500  # a busy branch day is ~300 arrivals; older finished ones are dropped first
MAX_NOTIFICATIONS = 20
MAX_ALERTS = 50


def screen_for(role: str) -> str:
    """The work screen of a role (unknown roles get none: 'login')."""
    return ROLE_SCREENS.get(role, "login")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _event(raw: PushEvent | Mapping[str, Any]) -> PushEvent | None:
    """The event parsed, or None when it is malformed or of a kind this app does not know."""
    if isinstance(raw, PushEvent):
        return raw
    try:
        return PushEvent.from_wire(raw)
    except WireError:
        return None


@dataclass
class StaffSession:
    """The logged-in staff member (the token lives only here and in the client)."""

    staff_id: str
    role: str
    name: str
    token: str


@dataclass
class Arrival:
    """One visit in the live list."""

    visit_id: str
    ticket: str
    ticket_id: str | None
    service: str | None
    tier: str | None
    priority: bool
    salutation_zh: str | None
    arrived_at: datetime | None
    walk_in: bool
    claimed_by: str | None = None
    state: str = "waiting"
    counter_id: str | None = None
    handed_to_staff: str | None = None
    handed_to_role: str | None = None

    def waiting_minutes(self, now: datetime) -> int:
        """Whole minutes since arrival (0 when unknown)."""
        if self.arrived_at is None:
            return 0
        return max(0, int((now - self.arrived_at).total_seconds() // 60))

    @classmethod
    def from_row(cls, row: VisitRow) -> Arrival:
        """Build from a row of today's visits."""
        ticket = row.ticket
        return cls(
            visit_id=row.visit_id,
            ticket=ticket.number,
            ticket_id=ticket.id,
            service=ticket.service,
            tier=row.tier,
            priority=row.priority,
            salutation_zh=row.salutation_zh,
            arrived_at=_parse_time(row.arrived_at or ticket.issued_at),
            walk_in=row.walk_in,
            claimed_by=row.claimed_by,
            state="serving" if ticket.state == "called" else ticket.state,
            counter_id=ticket.counter_id,
        )

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Arrival | None:
        """Build from an `arrival` event's data (or a visit row as JSON); None if malformed."""
        visit_id = _str(data.get("visit_id"))
        ticket = data.get("ticket")
        if visit_id is None or not isinstance(ticket, dict):
            return None
        number = _str(ticket.get("number")) or "?"
        state = _str(ticket.get("state")) or "waiting"
        return cls(
            visit_id=visit_id,
            ticket=number,
            ticket_id=_str(ticket.get("id")),
            service=_str(ticket.get("service")),
            tier=_str(data.get("tier")),
            priority=bool(data.get("priority")),
            salutation_zh=_str(data.get("salutation_zh")),
            arrived_at=_parse_time(data.get("arrived_at") or ticket.get("issued_at")),
            walk_in=bool(data.get("walk_in")),
            claimed_by=_str(data.get("claimed_by")),
            state="serving" if state == "called" else state,
            counter_id=_str(ticket.get("counter_id")),
        )


@dataclass(frozen=True)
class Alert:
    """A device or hub problem the lobby manager should see."""

    key: str
    text: str
    at: str


@dataclass(frozen=True)
class Notification:
    """A priority arrival (or a hand-off to me) that deserves a banner."""

    seq: int
    text: str
    visit_id: str


class LiveBoard:
    """Visits of the day, kept current from the event stream; each seq is applied once."""

    def __init__(self, max_visits: int = MAX_VISITS) -> None:
        self.visits: OrderedDict[str, Arrival] = OrderedDict()
        self.last_seq = 0
        self.max_visits = max_visits
        self.applied = 0
        self.duplicates = 0

    def load(self, rows: Iterable[VisitRow | Mapping[str, Any]], last_seq: int) -> None:
        """Replace the list with a snapshot of today's visits taken at `last_seq` (newer events
        apply on top)."""
        self.visits.clear()
        self.last_seq = last_seq
        for row in rows:
            arrival = Arrival.from_row(row) if isinstance(row, VisitRow) else Arrival.from_wire(row)
            if arrival is not None:
                self.visits[arrival.visit_id] = arrival
        self._trim()

    def apply(self, raw: PushEvent | Mapping[str, Any]) -> bool:
        """Apply one event; False for a duplicate, a malformed one or one that changed nothing."""
        event = _event(raw)
        if event is None:
            return False
        if event.seq <= self.last_seq:
            self.duplicates += 1
            return False
        self.last_seq = event.seq
        self.applied += 1
        kind, data = event.kind, event.data
        visit_id = _str(data.get("visit_id"))
        if kind is EventKind.ARRIVAL:
            arrival = Arrival.from_wire(data)
            if arrival is None:
                return False
            known = self.visits.get(arrival.visit_id)
            if known is not None and not data.get("identified"):  # a known visit: keep it
                return False
            self.visits[arrival.visit_id] = arrival
            self._trim()
            return True
        visit = self.visits.get(visit_id) if visit_id else None
        if visit is None:
            return False
        if kind is EventKind.CLAIMED:
            visit.claimed_by = _str(data.get("staff_id")) or _str(data.get("by"))
        elif kind is EventKind.HANDOFF:
            visit.handed_to_staff = _str(data.get("to_staff_id"))
            visit.handed_to_role = _str(data.get("to_role"))
        elif kind in _TICKET_KINDS:
            visit.counter_id = _str(data.get("counter_id")) or visit.counter_id
            if kind in (EventKind.CALLED, EventKind.RECALLED):
                visit.state = "serving"
            elif kind in _DONE_KINDS:
                visit.state = "done"
            elif kind is EventKind.TRANSFERRED:
                visit.state = "waiting"
                visit.service = _str(data.get("service")) or visit.service
            elif kind is EventKind.TICKET_UPDATED:
                visit.state = _UPDATED_STATES.get(_str(data.get("state")) or "", visit.state)
        else:
            return False
        return True

    def _trim(self) -> None:
        while len(self.visits) > self.max_visits:
            done = next((k for k, v in self.visits.items() if v.state == "done"), None)
            self.visits.pop(done if done is not None else next(iter(self.visits)))

    def waiting(self) -> list[Arrival]:
        """Visits still waiting or being served, priority first, then by arrival."""
        live = [v for v in self.visits.values() if v.state != "done"]
        return sorted(
            live, key=lambda v: (not v.priority, v.arrived_at or datetime.max.replace(tzinfo=UTC))
        )

    def handed_to(self, staff_id: str, role: str) -> list[Arrival]:
        """Visits handed to this staff member or to their role."""
        return [
            v
            for v in self.visits.values()
            if v.state != "done" and (v.handed_to_staff == staff_id or v.handed_to_role == role)
        ]

    def clear(self) -> None:
        """Forget every visit."""
        self.visits.clear()
        self.last_seq = 0


@dataclass
class TabletState:
    """All customer-related memory of the app, cleared in one call."""

    session: StaffSession | None = None
    board: LiveBoard = field(default_factory=LiveBoard)
    brief: Brief | None = None
    timeline_for: str | None = None  # the visit whose timeline the brief card shows
    timeline: VisitTimeline | None = None
    serving: ServedTicket | None = None  # the teller's current ticket
    lobby_board: LobbyBoard | None = None  # the managers' board, as last fetched
    report: BranchReport | None = None  # the managers' branch report, as last fetched
    targets: QueueTargets | None = None  # the branch's services and counters (transfer picker)
    alerts: OrderedDict[str, Alert] = field(default_factory=OrderedDict)
    notifications: deque[Notification] = field(
        default_factory=lambda: deque(maxlen=MAX_NOTIFICATIONS)
    )
    connected: bool = False
    revision: int = 0  # bumped on every change the views must redraw
    handoffs: HandoffMemory = field(default_factory=HandoffMemory)

    def on_event(self, raw: PushEvent | Mapping[str, Any]) -> bool:
        """Apply a stream event to the board, alerts and notifications (malformed: ignored)."""
        event = _event(raw)
        if event is None:
            return False
        seq_before = self.board.last_seq
        changed = self.board.apply(event)
        if self.board.last_seq == seq_before:
            return False  # duplicate
        kind, data, seq = event.kind, event.data, event.seq
        if self.session is not None:
            me = self.session
            changed = self.handoffs.on_event(kind, data, me.staff_id, me.role) or changed
        if kind is EventKind.ARRIVAL and data.get("priority"):
            ticket = data.get("ticket")
            number = ticket.get("number", "?") if isinstance(ticket, dict) else "?"
            who = _str(data.get("salutation_zh")) or said(N_("VIP"))
            text = said(N_("VIP arrived: {who}  {number}"), who=who, number=number)
            self.notifications.append(Notification(seq, text, str(data.get("visit_id"))))
            changed = True
        elif kind is EventKind.HANDOFF and self.session is not None:
            if data.get("to_staff_id") == self.session.staff_id or (
                data.get("to_role") == self.session.role
            ):
                self.notifications.append(
                    Notification(
                        seq, said(N_("A customer was handed to you")), str(data.get("visit_id"))
                    )
                )
                changed = True
        elif kind is EventKind.DEVICE_ALERT:
            self._device_alert(data, event.at)
            changed = True
        elif kind is EventKind.HUB_ALERT:
            self._hub_alert(data, event.at)
            changed = True
        elif kind is EventKind.CACHE_STALE:
            stale = said(N_("Customer data is not up to date; please call IT"))
            self.alerts["hub:cache_stale"] = Alert("hub:cache_stale", stale, event.at)
            changed = True
        if changed:
            self.revision += 1
        return changed

    def _device_alert(self, data: Mapping[str, Any], at: str) -> None:
        """A station device's problem raised or cleared."""
        key = f"{data.get('station')}:{data.get('device')}:{data.get('condition')}"
        if data.get("cleared"):
            self.alerts.pop(key, None)
            return
        device, condition = str(data.get("device")), str(data.get("condition"))
        text = said(
            N_("{station} {device}: {condition}"),
            station=data.get("station"),
            device=said(_DEVICES.get(device, device)),
            condition=said(_CONDITIONS.get(condition, condition)),
        )
        self.alerts[key] = Alert(key, text, at)
        while len(self.alerts) > MAX_ALERTS:
            self.alerts.popitem(last=False)

    def _hub_alert(self, data: Mapping[str, Any], at: str) -> None:
        """A hub alert raised or cleared, in both languages."""
        key = f"hub:{data.get('key')}"
        if data.get("cleared"):
            self.alerts.pop(key, None)
            return
        english = _str(data.get("message")) or N_("Notice from the branch hub")
        text = either(english, _str(data.get("message_zh")) or chinese(english))
        self.alerts[key] = Alert(key, text, at)

    def touch(self) -> None:
        """Mark a change for the views."""
        self.revision += 1

    def clear(self) -> None:
        """Forget the session and every piece of customer data."""
        self.session = None
        self.board.clear()
        self.brief, self.serving = None, None
        self.timeline_for, self.timeline = None, None
        self.lobby_board, self.targets, self.report = None, None, None
        self.alerts.clear()
        self.notifications.clear()
        self.handoffs.clear()
        self.connected = False
        self.revision += 1
