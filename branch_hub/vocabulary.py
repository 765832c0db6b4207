"""The hub's one vocabulary: roles, device kinds, outcomes, event kinds, states and limits.

Every other module (domain, API, client, apps) takes these names from here; a StrEnum
serialises as its value, so the wire and the database keep the same words.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "DASHBOARD_ROLES",
    "DECLINE_REASON_MAX_CHARS",
    "EVENT_CATALOGUE",
    "FOLLOW_UP_DATE_MAX_CHARS",
    "NOTE_MAX_CHARS",
    "PUBLIC_EVENT_KINDS",
    "QUEUE_ROLES",
    "RECORDABLE_OUTCOMES",
    "REPORT_DETAIL_MAX_CHARS",
    "REPORT_REASON_MAX_CHARS",
    "REPORT_VERSION_MAX_CHARS",
    "REQUEST_ID_MAX_CHARS",
    "STAFF_DEVICE_KINDS",
    "STAFF_ROLES",
    "WS_CLOSE_SESSION_ENDED",
    "AppName",
    "AppointmentArrival",
    "AppointmentStatus",
    "CustomerLocation",
    "DeclineReason",
    "DeviceCondition",
    "DeviceKind",
    "EventKind",
    "HubAlertKind",
    "IdentifiedBy",
    "KioskMessage",
    "LeadOutcome",
    "PrintProblem",
    "ProductSuitability",
    "ProductViewMode",
    "Role",
    "SessionState",
    "TicketOperation",
    "TimelineKind",
    "UpgradeOutcome",
    "WriteClass",
]


class Role(StrEnum):
    """A staff member's role; it decides what a brief shows and which actions are allowed."""

    LOBBY_MANAGER = "lobby_manager"
    WEALTH_MANAGER = "wealth_manager"
    ACCOUNT_MANAGER = "account_manager"
    TELLER = "teller"
    BRANCH_ADMIN = "branch_admin"


class DeviceKind(StrEnum):
    """What an enrolled device is (the OU of its client certificate)."""

    KIOSK = "kiosk"
    TABLET = "tablet"
    DISPLAY = "display"
    COUNTER = "counter"


class AppName(StrEnum):
    """An app the hub's app store publishes and a device updates (one spelling everywhere)."""

    KIOSK = "kiosk"
    TABLET = "tablet"


class LeadOutcome(StrEnum):
    """What happened when staff presented one of the customer's leads."""

    ACCEPTED = "accepted"
    DECLINED = "declined"  # with a DeclineReason
    FOLLOW_UP = "follow_up"  # with a follow-up date
    NOT_SUITABLE = "not_suitable"  # staff judged the product wrong for this customer
    NOT_INTERESTED = "not_interested"  # older records only: read, never recorded any more


# What staff may record now (`not_interested` became `declined` with a reason).
RECORDABLE_OUTCOMES = frozenset(
    {LeadOutcome.ACCEPTED, LeadOutcome.DECLINED, LeadOutcome.FOLLOW_UP, LeadOutcome.NOT_SUITABLE}
)


class DeclineReason(StrEnum):
    """Why the customer declined a lead (the reason codes branches report to HQ)."""

    HAS_SIMILAR = "has_similar"  # already holds a similar product (here or at another bank)
    RATE_UNATTRACTIVE = "rate_unattractive"  # the yield or rate is not attractive
    NO_FUNDS_NOW = "no_funds_now"  # no idle funds at the moment
    WANTS_TO_THINK = "wants_to_think"  # wants to think it over or ask the family
    DISTRUSTS_TYPE = "distrusts_type"  # distrusts this kind of product (risk, past losses)
    OTHER = "other"


class TimelineKind(StrEnum):
    """What one entry of a customer's timeline tells: colleagues' work and the queue's facts."""

    CLAIM = "claim"
    NOTE = "note"
    HANDOFF = "handoff"
    OUTCOME = "outcome"
    CALLED = "called"
    FINISHED = "finished"


class EventKind(StrEnum):
    """Kinds of push event on the branch-wide, sequenced event stream."""

    ARRIVAL = "arrival"
    CLAIMED = "claimed"
    NOTE_ADDED = "note_added"
    HANDOFF = "handoff"
    LEAD_OUTCOME = "lead_outcome"
    CALLED = "called"
    RECALLED = "recalled"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    FINISHED = "finished"
    TICKET_UPDATED = "ticket_updated"
    WAITING_CHANGED = "waiting_changed"
    DEVICE_ALERT = "device_alert"
    CACHE_STALE = "cache_stale"
    HUB_ALERT = "hub_alert"
    HANDOFF_ACCEPTED = "handoff_accepted"
    MANAGER_ALERT = "manager_alert"


class HubAlertKind(StrEnum):
    """What a `hub_alert` event warns the branch's staff about."""

    DISK_LOW = "disk_low"
    LOGIN_ATTACK = "login_attack"
    ENROL_ATTACK = "enrol_attack"
    AUDIT_DOUBTED = "audit_doubted"
    PRIORITY_UNCLAIMED = "priority_unclaimed"
    WAIT_OVER_TARGET = "wait_over_target"
    APPOINTMENT_ARRIVED = "appointment_arrived"


class AppointmentStatus(StrEnum):
    """Where a booked appointment stands today."""

    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"  # nobody checked in by window_end + [appointments] late_min


class AppointmentArrival(StrEnum):
    """When a booked customer checked in, against the window."""

    EARLY = "early"  # within early_min before window_start
    ON_TIME = "on_time"
    LATE = "late"  # within late_min after window_end: still a reserved ticket
    MISSED = "missed"  # later still: an ordinary ticket


class ProductSuitability(StrEnum):
    """May a lead's product be offered to this customer today (the brief's and the views' word)."""

    SUITABLE = "suitable"
    RISK_TOO_HIGH = "risk_too_high"  # the product's risk is above the customer's assessment
    ASSESSMENT_EXPIRED = "assessment_expired"
    NO_ASSESSMENT = "no_assessment"
    NOT_IN_CATALOGUE = "not_in_catalogue"  # the hub's catalogue does not hold the product


class ProductViewMode(StrEnum):
    """How staff showed a catalogue product: read it, presented it to the customer, compared it."""

    VIEWED = "viewed"
    PRESENTED = "presented"
    COMPARED = "compared"


class CustomerLocation(StrEnum):
    """Where in the branch a customer was taken by a hand-off ("escorted to the VIP room")."""

    VIP_ROOM = "vip_room"
    WEALTH_OFFICE = "wealth_office"
    COUNTER_AREA = "counter_area"
    WAITING_AREA = "waiting_area"


class KioskMessage(StrEnum):
    """Messages to one station's kiosk (in memory, never persisted or replayed)."""

    SESSION = "kiosk.session"
    CARD_SENSED = "kiosk.card_sensed"
    SESSION_ENDED = "kiosk.session_ended"
    MENU_CHANGED = "kiosk.menu_changed"
    DEVICE_ALERT = "device.alert"


class SessionState(StrEnum):
    """Where the customer in front of a kiosk is in the arrival flow."""

    IDLE = "idle"
    READING = "reading"
    RECOGNISED = "recognised"
    WALK_IN = "walk_in"
    READ_FAILED = "read_failed"


class IdentifiedBy(StrEnum):
    """How the kiosk read the customer's identifier (what a visit's `identified_by` holds)."""

    CHIP = "chip"  # a bank card read by the chip (PC/SC) reader
    STRIPE = "stripe"  # a bank card swiped through the stripe reader
    PAN = "pan"  # a bank card, chip or stripe not recorded (visits stored before they were told apart)
    PASSBOOK = "passbook"
    ID_NUMBER = "id_number"
    APPOINTMENT_QR = "appointment_qr"  # the appointment QR HQ texted, shown to the kiosk's camera


class UpgradeOutcome(StrEnum):
    """What identifying a printed ticket at the kiosk did to it (never the class's name)."""

    UPGRADED = "upgraded"  # the ticket moved to the customer's higher class
    IDENTIFIED = "identified"  # the customer is now known; the class was already theirs
    ALREADY_YOURS = "already_yours"  # the ticket was this customer's already: shown again


class DeviceCondition(StrEnum):
    """A station device's condition as staff see it in a device alert."""

    OK = "ok"
    FAULT = "fault"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNAVAILABLE = "unavailable"
    ERROR = "error"


class PrintProblem(StrEnum):
    """Why a ticket did not come out of the printer (the ticket is issued all the same)."""

    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    ERROR = "error"


class TicketOperation(StrEnum):
    """What staff may do to one ticket (besides calling the next one to a counter)."""

    RECALL = "recall"
    NO_SHOW = "no-show"
    FINISH = "finish"
    PARK = "park"
    TRANSFER = "transfer"
    RESUME = "resume"


STAFF_ROLES = frozenset(Role)
QUEUE_ROLES = frozenset(Role)
DASHBOARD_ROLES = frozenset({Role.LOBBY_MANAGER, Role.BRANCH_ADMIN})
# Staff log in only on these kinds; a kiosk or a display never carries a staff session.
STAFF_DEVICE_KINDS = frozenset({DeviceKind.TABLET, DeviceKind.COUNTER})

# What a device that is not a staff tablet or counter (the lobby display, a kiosk) may see:
# calls, ticket changes and waiting counts, never arrivals, claims or notes.
PUBLIC_EVENT_KINDS = frozenset(
    {
        EventKind.CALLED,
        EventKind.RECALLED,
        EventKind.NO_SHOW,
        EventKind.TRANSFERRED,
        EventKind.FINISHED,
        EventKind.TICKET_UPDATED,
        EventKind.WAITING_CHANGED,
    }
)

# Who sends each event kind and who acts on it (checked against the code by a test).
EVENT_CATALOGUE: dict[EventKind, tuple[str, str]] = {
    EventKind.ARRIVAL: ("a ticket is issued at a kiosk", "tablets: lobby list and brief"),
    EventKind.CLAIMED: ("staff claim a customer", "tablets: who is with the customer"),
    EventKind.NOTE_ADDED: ("staff add a note", "tablets: the brief refreshes its notes"),
    EventKind.HANDOFF: ("staff hand a customer on", "tablets: the receiver's banner"),
    EventKind.LEAD_OUTCOME: ("staff record a lead's outcome", "tablets: the brief"),
    EventKind.CALLED: ("a counter calls a ticket", "display and voice; tablets"),
    EventKind.RECALLED: ("a counter calls a ticket again", "display and voice; tablets"),
    EventKind.NO_SHOW: ("a called customer did not come", "display; tablets"),
    EventKind.TRANSFERRED: ("a ticket moves to another service", "display; tablets"),
    EventKind.FINISHED: ("a counter finishes a ticket", "display; tablets"),
    EventKind.TICKET_UPDATED: ("a ticket is parked, resumed or cancelled", "display; tablets"),
    EventKind.WAITING_CHANGED: ("the waiting counts change", "display; tablets"),
    EventKind.DEVICE_ALERT: ("a station device changes condition", "tablets: alerts"),
    EventKind.CACHE_STALE: ("the customer cache turns stale or fresh", "tablets: alerts"),
    EventKind.HUB_ALERT: ("disk space or an attack on logins or enrolment", "tablets: alerts"),
    EventKind.HANDOFF_ACCEPTED: ("the receiver accepts a hand-off", "tablets: the giver's row"),
    EventKind.MANAGER_ALERT: (
        "a customer's relationship manager's customer arrives",
        "tablets: that manager's banner",
    ),
}

NOTE_MAX_CHARS = 1000  # a note, a hand-off message or a lead outcome's remark
REQUEST_ID_MAX_CHARS = 64  # a device's idempotency key for one command
REPORT_VERSION_MAX_CHARS = 64  # an app version in a device's update report
REPORT_REASON_MAX_CHARS = 100  # a report's reason word
REPORT_DETAIL_MAX_CHARS = 500  # a report's detail text
DECLINE_REASON_MAX_CHARS = 32  # a decline reason code in a request body
FOLLOW_UP_DATE_MAX_CHARS = 10  # a follow-up date in a request body (YYYY-MM-DD)


class WriteClass(StrEnum):
    """Which per-device write budget a route spends (docs/hub-api.md, "Rate limits")."""

    COMMAND = "command"  # a staff command: claim, hand-off, outcome, queue operations
    TICKET = "ticket"  # a kiosk issuing a ticket
    SESSION = "session"  # a kiosk ending its session, a staff member logging out
    NOTE = "note"  # free text for colleagues
    REPORT = "report"  # a device's app update report
    ADMIN = "admin"  # a branch administrator's device registry change
    OWN_LOCKOUT = "own_lockout"  # login, enrolment, renewal: the security module's own limits


# WebSocket close code: the staff session behind the stream ended (logout, another login on
# the device, account disabled, idle expiry, device revoked): log in again, do not reconnect.
WS_CLOSE_SESSION_ENDED = 4001
