"""The camera's part of the kiosk flow: an appointment code from attract, a printed ticket's QR
from a recognised customer's greeting or menu. Mixed into `Flow` (kiosk/flow.py).

attract --scan--> scanning(appointment) --code--> SendScan --> the session: ticket or greeting
greeting/menu --have_ticket--> scanning(ticket) --code--> SendUpgrade --> upgraded (the number)
scanning --cancel / 20 s--> back where it came from; a refused code is said and not sent again.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kiosk.flow_state import Effect, Phase, SendScan, SendUpgrade, State, Timeouts
from kiosk.shown import Ticket

__all__ = ["APPOINTMENT", "SCAN_CLEARED", "TICKET", "ScanSteps"]

APPOINTMENT, TICKET = "appointment", "ticket"
SCAN_CLEARED: dict[str, Any] = {
    "scan_for": None,
    "scan_back": None,
    "scan_sent": None,
    "scan_busy": False,
    "scan_refusal": None,
}


class ScanSteps:
    """Flow inputs of the camera screen (the flow's state, clock and `_go` are Flow's)."""

    state: State
    now: float
    timeouts: Timeouts

    def _go(self, phase: Phase, **changes: Any) -> None:
        raise NotImplementedError  # Flow's

    def camera_ready(self, available: bool) -> list[Effect]:
        """Whether this kiosk has a camera and zbar: the scan buttons show only then."""
        self.state = replace(self.state, camera=available, version=self.state.version + 1)
        return []

    def _scan_touch(self, action: str) -> list[Effect] | None:
        """The camera's buttons; None when `action` is not one of them here."""
        s = self.state
        if action == "scan" and s.phase is Phase.ATTRACT and s.camera:
            self._go(Phase.SCANNING, scan_for=APPOINTMENT, scan_back=Phase.ATTRACT)
            return []
        known = s.session_id is not None and not s.walk_in and s.camera
        if action == "have_ticket" and s.phase in (Phase.GREETING, Phase.MENU) and known:
            self._go(Phase.SCANNING, scan_for=TICKET, scan_back=Phase.MENU)
            return []
        if action == "cancel" and s.phase is Phase.SCANNING:
            return self.close_camera()
        return None

    def close_camera(self) -> list[Effect]:
        """Back to the screen the camera was opened from (cancel, or its timeout)."""
        back = self.state.scan_back or Phase.ATTRACT
        if back is not Phase.ATTRACT and self.state.session_id is None:
            back = Phase.ATTRACT  # the customer's session ended meanwhile
        self._go(back)
        return []

    def scanned(self, text: str) -> list[Effect]:
        """The camera read a QR's text: send it, unless it is the one just sent."""
        s = self.state
        if s.phase is not Phase.SCANNING or s.scan_busy or text == s.scan_sent:
            return []
        self.state = replace(s, scan_sent=text, scan_busy=True, version=s.version + 1)
        return [SendScan(text) if s.scan_for == APPOINTMENT else SendUpgrade(text)]

    def scan_refused(self, code: str) -> list[Effect]:
        """The hub refused the code: say why and keep looking (the same code is not sent again)."""
        s = self.state
        if s.phase is not Phase.SCANNING:
            return []
        self.state = replace(s, scan_busy=False, scan_refusal=code, version=s.version + 1)
        return []

    def upgraded(self, outcome: str, ticket: Ticket) -> list[Effect]:
        """The ticket was identified with the customer; the hub ended the session."""
        if self.state.phase is not Phase.SCANNING:
            return []
        self._go(Phase.UPGRADED, ticket=ticket, upgrade=outcome, session_id=None, greeting=None)
        return []
