"""The kiosk's screen flow as a pure state machine: inputs in, screen state and effects out.

No Kivy and no network here: the app feeds hub messages, touches and clock ticks in and
carries out the returned effects, so every flow is unit-testable without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from branch_hub.client import KioskMessage, SessionState
from branch_hub.client import models as wire
from kiosk.flow_state import (
    CUSTOMER_PHASES,
    Effect,
    EndSession,
    FetchMenu,
    FetchSession,
    IssueTicket,
    Phase,
    SendScan,
    SendUpgrade,
    State,
    Timeouts,
)
from kiosk.scan_flow import SCAN_CLEARED, ScanSteps
from kiosk.shown import BadAnswer, Booking, Greeting, Menu, ServiceOption, Ticket

__all__ = [
    "CUSTOMER_PHASES",
    "BadAnswer",
    "Booking",
    "Effect",
    "EndSession",
    "FetchMenu",
    "FetchSession",
    "Flow",
    "Greeting",
    "IssueTicket",
    "Menu",
    "Phase",
    "SendScan",
    "SendUpgrade",
    "ServiceOption",
    "State",
    "Ticket",
    "Timeouts",
]


@dataclass
class Flow(ScanSteps):
    """The kiosk flow. Every method returns the effects to carry out; `state` is the screen."""

    now: float = 0.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    state: State = field(default_factory=State)
    _next_menu_refresh: float = 0.0

    # --- helpers -------------------------------------------------------------------------
    def _go(self, phase: Phase, **changes: Any) -> None:
        seconds = {
            Phase.READING: self.timeouts.reading,
            Phase.READ_FAILED: self.timeouts.read_failed,
            Phase.GREETING: self.timeouts.greeting,
            Phase.MENU: self.timeouts.menu,
            Phase.PRINTING: self.timeouts.printing,
            Phase.TICKET_FAILED: self.timeouts.ticket_failed,
            Phase.SCANNING: self.timeouts.scanning,
            Phase.UPGRADED: self.timeouts.ticket,
        }.get(phase)
        if phase is not Phase.SCANNING:
            changes = {**SCAN_CLEARED, **changes}  # the camera's codes go with its screen
        if phase is Phase.TICKET:
            ticket = changes.get("ticket", self.state.ticket)
            unprinted = ticket is not None and ticket.print_problem is not None
            seconds = self.timeouts.ticket_unprinted if unprinted else self.timeouts.ticket
        deadline = self.now + seconds if seconds is not None else None
        if phase in (Phase.ATTRACT, Phase.UNAVAILABLE):
            # Forget the customer: nothing of theirs survives the return to the attract screen.
            changes = {
                "session_id": None,
                "greeting": None,
                "walk_in": False,
                "problem": None,
                "ticket": None,
                "booking": None,
                "error_code": None,
                "upgrade": None,
                "lang": "zh",
                **changes,
            }
        self.state = replace(
            self.state,
            phase=phase,
            deadline=deadline,
            version=self.state.version + 1,
            **changes,
        )

    def _to_rest(self) -> list[Effect]:
        """Leave a customer flow: back to attract (or unavailable) and tell the hub."""
        had_session = self.state.session_id is not None
        self._go(Phase.ATTRACT if self.state.connected and self.state.menu else Phase.UNAVAILABLE)
        effects: list[Effect] = [EndSession()] if had_session else []
        if self.state.connected:
            # Fresh waiting counts for the next customer (one was just added, most likely).
            self._next_menu_refresh = self.now + self.timeouts.menu_refresh
            effects.append(FetchMenu())
        return effects

    # --- inputs from the hub -------------------------------------------------------------
    def hub_connected(self) -> list[Effect]:
        """The event stream is up: (re)load the menu and any session in progress."""
        self.state = replace(self.state, connected=True, version=self.state.version + 1)
        return [FetchMenu(), FetchSession()]

    def hub_lost(self) -> list[Effect]:
        """The hub went away: a calm unavailable screen, unless a ticket is already on screen."""
        self.state = replace(self.state, connected=False, version=self.state.version + 1)
        if self.state.phase in (Phase.TICKET, Phase.UPGRADED):
            return []  # the number is issued; keep it on screen until its own timeout
        self._go(Phase.UNAVAILABLE)
        return []

    def menu_loaded(self, menu: Menu) -> list[Effect]:
        """A fresh menu (also the waiting counts)."""
        self._next_menu_refresh = self.now + self.timeouts.menu_refresh
        self.state = replace(self.state, menu=menu, version=self.state.version + 1)
        if self.state.phase is Phase.UNAVAILABLE and self.state.connected:
            self._go(Phase.ATTRACT)
        return []

    def menu_failed(self) -> list[Effect]:
        """The menu could not be loaded; the stream's reconnect will try again."""
        self._next_menu_refresh = self.now + self.timeouts.menu_refresh
        return []

    def card_sensed(self) -> list[Effect]:
        """A card/passbook/ID is being read: immediate feedback."""
        if self.state.phase in (Phase.ATTRACT, Phase.READ_FAILED):
            self._go(Phase.READING)
        return []

    def session_update(self, session: wire.KioskSession | Any) -> list[Effect]:
        """A kiosk session from `HubClient.kiosk_session`, or a kiosk.session message's data."""
        if isinstance(session, wire.KioskSession):
            kind: Any = session.state
            session_id = session.session_id
            problem: Any = session.problem
            greeting = Greeting.from_model(session.greeting)
            booked = Booking.from_model(session.appointment)
        elif isinstance(session, dict):
            kind = session.get("state")
            raw_id = session.get("session_id")
            session_id = str(raw_id) if raw_id is not None else None
            problem = session.get("problem")
            greeting = Greeting.from_wire(session.get("greeting"))
            booked = Booking.from_wire(session.get("appointment"))
        else:
            return []
        if kind == SessionState.IDLE or kind is None:
            return []
        if self.state.phase in (Phase.UNAVAILABLE, Phase.PRINTING, Phase.TICKET, Phase.UPGRADED):
            return []  # a new card while a ticket is shown waits for the attract screen
        if self.state.phase is Phase.TICKET_FAILED:
            return []
        if kind == SessionState.READING:
            if self.state.phase in (Phase.ATTRACT, Phase.READ_FAILED, Phase.READING):
                self._go(Phase.READING, session_id=session_id)
            return []
        if kind == SessionState.READ_FAILED:
            self._go(
                Phase.READ_FAILED,
                session_id=session_id,
                problem=str(problem or "unreadable"),
                greeting=None,
            )
            return []
        if kind == SessionState.RECOGNISED and booked is not None:
            # Checked in on a booking: the hub issued (and printed) the ticket with the read.
            booking, ticket = booked
            self._go(
                Phase.TICKET, session_id=None, greeting=greeting, ticket=ticket, booking=booking
            )
            return []
        if kind == SessionState.RECOGNISED:
            if self.state.phase is Phase.MENU and self.state.session_id == session_id:
                return []  # already past the greeting (e.g. a resume after reconnect)
            self._go(Phase.GREETING, session_id=session_id, greeting=greeting, walk_in=False)
            return []
        if kind == SessionState.WALK_IN:
            # The card was read but is not a customer the branch knows: an ordinary ticket.
            self._go(Phase.MENU, session_id=session_id, greeting=None, walk_in=True)
            return []
        return []

    def session_ended(self, session_id: Any = None) -> list[Effect]:
        """The hub ended the station's session (expired or card flow finished)."""
        in_flow = self.state.phase in (Phase.READING, Phase.READ_FAILED, Phase.GREETING, Phase.MENU)
        if in_flow and (session_id is None or str(session_id) == self.state.session_id):
            self._go(Phase.ATTRACT if self.state.menu else Phase.UNAVAILABLE)
        return []

    def message(self, message: Any) -> list[Effect]:
        """Dispatch one message of the station's live messages (`HubClient.kiosk_events`)."""
        if not isinstance(message, dict):
            return []
        kind = message.get("kind")
        raw = message.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if kind == KioskMessage.CARD_SENSED:
            return self.card_sensed()
        if kind == KioskMessage.SESSION:
            return self.session_update(data)
        if kind == KioskMessage.SESSION_ENDED:
            return self.session_ended(data.get("session_id"))
        if kind == KioskMessage.MENU_CHANGED:
            return [FetchMenu()]
        return []

    # --- inputs from the customer --------------------------------------------------------
    def touch(self, action: str) -> list[Effect]:
        """A button: 'walk_in', 'service:<code>', 'continue', 'cancel', 'done', 'lang'."""
        phase = self.state.phase
        camera = self._scan_touch(action)
        if camera is not None:
            return camera
        if action == "lang":
            self.state = replace(
                self.state,
                lang="en" if self.state.lang == "zh" else "zh",
                version=self.state.version + 1,
            )
            return self._keep_alive()
        if action == "walk_in" and phase in (Phase.ATTRACT, Phase.READ_FAILED):
            effects: list[Effect] = [EndSession()] if self.state.session_id else []
            self._go(Phase.MENU, session_id=None, greeting=None, walk_in=True, problem=None)
            return effects
        if action == "continue" and phase is Phase.GREETING:
            self._go(Phase.MENU)
            return []
        if action.startswith("service:") and phase is Phase.MENU:
            code = action.removeprefix("service:")
            if self.state.menu is None or code not in {s.code for s in self.state.menu.services}:
                return []
            self._go(Phase.PRINTING)
            return [IssueTicket(code, self.state.session_id)]
        if action in ("cancel", "done") and phase in (
            Phase.READ_FAILED,
            Phase.GREETING,
            Phase.MENU,
            Phase.TICKET,
            Phase.TICKET_FAILED,
            Phase.UPGRADED,
        ):
            return self._to_rest()
        return []

    def _keep_alive(self) -> list[Effect]:
        """A touch on a customer screen restarts its timeout."""
        if self.state.phase in (Phase.MENU, Phase.READ_FAILED):
            self._go(self.state.phase)
        return []

    # --- results of effects --------------------------------------------------------------
    def ticket_issued(self, ticket: Ticket) -> list[Effect]:
        """The hub issued the ticket (printed or not)."""
        if self.state.phase is not Phase.PRINTING:
            return []
        self._go(Phase.TICKET, ticket=ticket, greeting=None)
        return []

    def ticket_failed(self, code: str, unavailable: bool) -> list[Effect]:
        """The hub refused (code) or could not be reached (unavailable)."""
        if self.state.phase is not Phase.PRINTING:
            return []
        if unavailable:
            self._go(Phase.UNAVAILABLE)
            return []
        self._go(Phase.TICKET_FAILED, error_code=code)
        return []

    # --- the clock -----------------------------------------------------------------------
    def tick(self, now: float) -> list[Effect]:
        """Advance the clock: screen timeouts and periodic refresh of the waiting counts."""
        self.now = now
        effects: list[Effect] = []
        deadline = self.state.deadline
        if deadline is not None and now >= deadline:
            if self.state.phase is Phase.GREETING:
                self._go(Phase.MENU)
            elif self.state.phase is Phase.SCANNING:
                effects += self.close_camera()
            elif self.state.phase is Phase.PRINTING:
                # The hub never answered: treat as unreachable rather than leave the customer waiting.
                self._go(Phase.TICKET_FAILED, error_code="timeout")
            else:
                effects += self._to_rest()
        if (
            self.state.connected
            and self.state.phase in (Phase.ATTRACT, Phase.MENU)
            and now >= self._next_menu_refresh
        ):
            self._next_menu_refresh = now + self.timeouts.menu_refresh
            effects.append(FetchMenu())
        return effects
