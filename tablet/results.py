"""What a finished hub call does to the tablet's screen, applied on the UI thread."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Protocol

from branch_hub.client import (
    DeviceRevoked,
    HubError,
    HubRefused,
    HubUnavailable,
    StaffSessionEnded,
)
from branch_hub.client.models import BranchReport, Brief, LobbyBoard, QueueTargets, TicketResult
from tablet.booking import BOOKING_TAGS, apply_booking
from tablet.device import EnrolmentError
from tablet.handoff_verbs import HANDOFF_TAGS, apply_handoff
from tablet.i18n import N_, _, either, said
from tablet.identify import IDENTIFY_TAGS, apply_identify, kept
from tablet.report_share import ReportPdfFailed
from tablet.state import StaffSession, TabletState, screen_for
from tablet.timeline import show_timeline


class Tablet(Protocol):
    """What a result or a refusal changes on the app (the controller is one)."""

    state: TabletState
    message: str
    screen: str
    wiped: bool
    found_hubs: list[Any]
    failures: deque[str]

    def start_stream(self, since: int) -> None:
        """Follow the live stream from `since`."""

    def logout(self, reason: str = "") -> None:
        """End the staff session and forget every customer."""

    def wipe(self, reason: str = "device_revoked") -> None:
        """Forget the device's key and every customer."""

    def open_brief(self, visit_id: str) -> None:
        """Fetch a visit's brief."""

    def after_login(self) -> None:
        """Fetch what a fresh session needs besides the visits (colleagues, alerts)."""


__all__ = ["apply_failure", "apply_result"]

log = logging.getLogger("tablet")

_CONFIRMATIONS = {
    "claim": N_("Claimed"),
    "note": N_("Note saved"),
    "handoff": N_("Handed over"),
    "outcome": N_("Outcome recorded"),
}


def apply_result(tablet: Tablet, tag: str, result: Any) -> None:
    """Show what a hub call returned."""
    # The brief an action fetched again keeps that action's confirmation on screen.
    shown = {_(text) for text in _CONFIRMATIONS.values()}  # in the language shown now
    # The lobby board refetches itself every few seconds: that must not wipe what staff were told.
    keep = str(tablet.message) in shown or kept(tablet)  # the identify push fetches it too
    if not (tag == "brief" and keep) and tag != "board":
        tablet.message = ""
    logged_in = tablet.state.session is not None
    if tag == "login":
        _logged_in(tablet, result)
    elif tag == "reload" and logged_in:
        last, visits = result
        _load(tablet.state, visits, last)
    elif tag in HANDOFF_TAGS and logged_in:
        apply_handoff(tablet, tag, result)
    elif tag in BOOKING_TAGS and logged_in:
        apply_booking(tablet, tag, result)
    elif tag in IDENTIFY_TAGS and logged_in:
        apply_identify(tablet, tag, result)
    elif tag == "discover":
        _hubs_found(tablet, list(result))
    elif tag == "enrol":
        tablet.wiped = False
        tablet.screen = "login"
    elif tag == "board" and logged_in and isinstance(result, LobbyBoard):
        tablet.state.lobby_board = result
    elif tag == "report" and logged_in and isinstance(result, BranchReport):
        tablet.state.report = result
    elif tag == "report_pdf" and logged_in:
        tablet.message = said(N_("Report ready, opening…"))
    elif tag == "brief" and logged_in:
        tablet.state.brief = result if isinstance(result, Brief) else None
    elif tag == "timeline" and logged_in:
        show_timeline(tablet.state, result)
    elif tag == "serve" and logged_in and isinstance(result, TicketResult):
        _called(tablet, result)
    elif tag == "served" and logged_in and isinstance(result, TicketResult):
        _served(tablet, result)
    elif tag == "targets" and logged_in and isinstance(result, QueueTargets):
        tablet.state.targets = result
    elif tag in _CONFIRMATIONS:
        tablet.message = said(_CONFIRMATIONS[tag])
        brief = tablet.state.brief
        if brief is not None and tag in ("claim", "note", "outcome"):
            tablet.open_brief(brief.visit_id)
    tablet.state.touch()


def _logged_in(tablet: Tablet, result: Any) -> None:
    answer, last, visits = result
    tablet.state.clear()
    tablet.state.session = StaffSession(answer.staff_id, answer.role, answer.name, answer.token)
    _load(tablet.state, visits, last)
    tablet.screen = screen_for(tablet.state.session.role)
    tablet.start_stream(last)
    tablet.after_login()


def _load(state: TabletState, visits: Any, last: int) -> None:
    state.board.load(visits, last)
    if state.session is not None:
        state.handoffs.load(visits, state.session.staff_id, state.session.role)


def _hubs_found(tablet: Tablet, hubs: list[Any]) -> None:
    tablet.found_hubs = hubs
    if hubs:
        hub = hubs[0]
        # Shown for comparison only: the fingerprint must come from IT, not the network.
        tablet.message = said(
            N_("Found hub {hub} ({branch}), certificate fingerprint {fingerprint}…"),
            hub=hub.hub_id,
            branch=hub.branch_id,
            fingerprint=hub.ca_fingerprint[:16],
        )
    else:
        tablet.message = said(N_("No branch hub found; type its address"))


def _called(tablet: Tablet, result: TicketResult) -> None:
    tablet.state.serving = result.ticket
    tablet.state.brief = None
    if result.ticket is not None and result.ticket.visit_id:
        tablet.open_brief(result.ticket.visit_id)
    elif result.ticket is None:
        tablet.message = said(N_("No customer is waiting"))


def _served(tablet: Tablet, result: TicketResult) -> None:
    ticket = result.ticket
    if ticket is not None and ticket.state == "called":
        tablet.state.serving = ticket
    else:
        tablet.state.serving = None
        tablet.state.brief = None


def apply_failure(tablet: Tablet, tag: str, exc: Exception) -> None:
    """Show why a hub call failed: a revoked device is wiped, an ended session logs out."""
    tablet.failures.append(f"{tag}: {type(exc).__name__} {getattr(exc, 'code', '')}")
    if isinstance(exc, HubRefused):
        if isinstance(exc, DeviceRevoked):
            tablet.wipe(exc.code)
            tablet.message = said(N_("This device has been retired; enrol it again"))
            tablet.state.touch()
            return
        if (isinstance(exc, StaffSessionEnded) or exc.status == 401) and tag != "login":
            tablet.logout("session_ended")
            return
        tablet.message = either(exc.message, exc.message_zh)
    elif isinstance(exc, ReportPdfFailed):
        tablet.message = said(exc.words)
    elif isinstance(exc, HubUnavailable):
        tablet.message = said(N_("Cannot reach the branch hub; try again shortly"))
    elif isinstance(exc, EnrolmentError):
        tablet.message = exc.bilingual.replace("\n", " ")
    elif isinstance(exc, HubError):
        tablet.message = str(exc)
    else:
        log.warning("tablet job %s failed: %s", tag, type(exc).__name__)
        tablet.message = said(N_("That did not work; please try again"))
    tablet.state.touch()
