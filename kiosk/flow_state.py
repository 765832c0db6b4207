"""The kiosk flow's vocabulary: its screens (phases), the state a screen shows, its timeouts
and the effects the app carries out for it (kiosk/flow.py is the machine itself)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from branch_hub.client import new_request_id
from kiosk.shown import Booking, Greeting, Menu, Ticket

__all__ = [
    "CUSTOMER_PHASES",
    "Effect",
    "EndSession",
    "FetchMenu",
    "FetchSession",
    "IssueTicket",
    "Phase",
    "SendScan",
    "SendUpgrade",
    "State",
    "Timeouts",
]


class Phase(Enum):
    """Which screen the kiosk shows."""

    UNAVAILABLE = "unavailable"
    ATTRACT = "attract"
    READING = "reading"
    READ_FAILED = "read_failed"
    GREETING = "greeting"
    MENU = "menu"
    PRINTING = "printing"
    TICKET = "ticket"
    TICKET_FAILED = "ticket_failed"
    SCANNING = "scanning"  # the camera looks for an appointment code or a printed ticket's QR
    UPGRADED = "upgraded"  # a printed ticket identified with the customer: its number again


# Screens that hold a customer's data; leaving them for ATTRACT or UNAVAILABLE drops it.
CUSTOMER_PHASES = frozenset(
    {Phase.READING, Phase.READ_FAILED, Phase.GREETING, Phase.MENU, Phase.PRINTING, Phase.SCANNING}
)


# Effects: what the app must do for the flow. Results come back as Flow method calls.
@dataclass(frozen=True)
class FetchMenu:
    """Load the menu (`HubClient.menu`), then call Flow.menu_loaded."""


@dataclass(frozen=True)
class FetchSession:
    """Load the station's session (`HubClient.kiosk_session`), then call Flow.session_update."""


@dataclass(frozen=True)
class IssueTicket:
    """Ask for a ticket (`HubClient.issue_ticket`), then call Flow.ticket_issued or Flow.ticket_failed."""

    service: str
    session_id: str | None
    # One per customer choice, sent as the hub's idempotency key: a repeat of this request
    # (a retry after a lost answer) gets the same ticket back, never a second number.
    request_id: str = field(default_factory=new_request_id, compare=False)


@dataclass(frozen=True)
class EndSession:
    """End the station's session (`HubClient.end_session`, best effort)."""

    request_id: str = field(default_factory=new_request_id, compare=False)


@dataclass(frozen=True)
class SendScan:
    """An appointment QR's text (`HubClient.scan_code`); the answer is a session update."""

    code: str = field(repr=False)


@dataclass(frozen=True)
class SendUpgrade:
    """A printed ticket's QR text (`HubClient.upgrade_ticket`), then Flow.upgraded."""

    code: str = field(repr=False)
    request_id: str = field(default_factory=new_request_id, compare=False)


Effect = FetchMenu | FetchSession | IssueTicket | EndSession | SendScan | SendUpgrade


@dataclass(frozen=True)
class Timeouts:
    """Seconds each screen stays before the kiosk returns to the attract screen."""

    reading: float = 15.0
    read_failed: float = 20.0
    greeting: float = 2.5  # then on to the menu by itself
    menu: float = 45.0
    printing: float = 15.0
    ticket: float = 8.0
    ticket_unprinted: float = 30.0  # time to photograph the number
    ticket_failed: float = 12.0
    scanning: float = 20.0  # then back to the screen the camera was opened from
    menu_refresh: float = 20.0


@dataclass(frozen=True)
class State:
    """Everything a screen shows. Customer fields are None outside customer screens."""

    phase: Phase = Phase.UNAVAILABLE
    lang: str = "zh"
    menu: Menu | None = None
    connected: bool = False
    session_id: str | None = None
    greeting: Greeting | None = None
    walk_in: bool = False
    problem: str | None = None
    ticket: Ticket | None = None
    booking: Booking | None = None  # a booked customer's check-in, shown with the ticket
    error_code: str | None = None
    camera: bool = False  # a camera and zbar: the scan buttons show
    scan_for: str | None = None  # "appointment" or "ticket" while the camera looks
    scan_back: Phase | None = None  # where cancel and the timeout return to
    scan_sent: str | None = field(default=None, repr=False)  # the code last sent (not again)
    scan_busy: bool = False  # a code is with the hub
    scan_refusal: str | None = None  # the hub's last refusal code, said on the camera screen
    upgrade: str | None = None  # UpgradeOutcome of the ticket on the upgraded screen
    deadline: float | None = None
    version: int = 0
