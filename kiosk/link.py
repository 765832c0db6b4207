"""The kiosk's connection to the hub: carries out the flow's effects and feeds results back.

Network work runs on background threads; results land in `inbox`, which the UI thread drains
with `Controller.pump` so the flow is only ever touched from one thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from branch_hub.client import (
    HubClient,
    HubError,
    HubRefused,
    HubUnavailable,
    StreamNotice,
)
from branch_hub.client.models import (
    EndSessionRequest,
    ScanRequest,
    TicketRequest,
    UpgradeRequest,
)
from kiosk.flow import (
    Effect,
    EndSession,
    FetchMenu,
    FetchSession,
    Flow,
    IssueTicket,
    Menu,
    SendScan,
    SendUpgrade,
    Ticket,
)

__all__ = ["Controller", "HubLink", "Inbox"]

log = logging.getLogger("kiosk.link")

Inbox = queue.Queue[tuple[str, Any]]


class HubLink:
    """The kiosk's REST client and event stream; effects run in order on one worker thread."""

    def __init__(self, client: HubClient, inbox: Inbox | None = None) -> None:
        self.client = client
        self.inbox: Inbox = inbox or queue.Queue()
        self.stream = client.kiosk_events(on_notice=self._on_notice)
        self._jobs: queue.Queue[Effect | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="kiosk-effects", daemon=True)
        self.notice_times: dict[str, float] = {}
        self.lost_since: float | None = time.monotonic()  # not connected yet

    def start(self) -> HubLink:
        """Start the event stream and the effect worker."""
        self._worker.start()
        self.stream.start()
        return self

    def stop(self) -> None:
        """Stop both threads."""
        self.stream.stop()
        self._jobs.put(None)
        self._worker.join(5.0)
        self.client.close()

    def submit(self, effect: Effect) -> None:
        """Queue an effect for the worker."""
        self._jobs.put(effect)

    def _on_notice(self, notice: StreamNotice) -> None:
        if notice.kind == "connected":
            self.lost_since = None
            self.inbox.put(("connected", None))
        elif notice.kind == "disconnected":
            self.lost_since = self.lost_since or time.monotonic()
            self.inbox.put(("lost", notice.data.get("reason")))
        elif notice.kind == "message":
            kind = notice.data.get("kind")
            if isinstance(kind, str):
                self.notice_times[kind] = time.perf_counter()
            self.inbox.put(("message", notice.data))

    def _work(self) -> None:
        while True:
            effect = self._jobs.get()
            if effect is None:
                return
            try:
                self._run(effect)
            except Exception:  # never let the worker die: the kiosk must keep serving
                log.exception("kiosk effect %s failed", type(effect).__name__)

    def _run(self, effect: Effect) -> None:
        if isinstance(effect, FetchMenu):
            try:
                self.inbox.put(("menu", Menu.from_offer(self.client.menu())))
            except HubError as exc:
                log.warning("menu not loaded: %s", type(exc).__name__)
                self.inbox.put(("menu_failed", None))
        elif isinstance(effect, FetchSession):
            try:
                self.inbox.put(("session", self.client.kiosk_session()))
            except HubError as exc:
                log.warning("session not loaded: %s", type(exc).__name__)
        elif isinstance(effect, IssueTicket):
            self._issue(effect)
        elif isinstance(effect, SendScan | SendUpgrade):
            self._scan(effect)
        elif isinstance(effect, EndSession):
            try:
                self.client.end_session(EndSessionRequest(effect.request_id))
            except HubError as exc:
                log.info("session end not delivered: %s", type(exc).__name__)

    def _scan(self, effect: SendScan | SendUpgrade) -> None:
        """A code the camera read: an appointment's (a session back) or a ticket's (upgraded)."""
        try:
            if isinstance(effect, SendScan):
                self.inbox.put(("session", self.client.scan_code(ScanRequest(effect.code))))
                return
            done = self.client.upgrade_ticket(UpgradeRequest(effect.code, effect.request_id))
            shown = Ticket.from_wire({"ticket": done.ticket.to_wire(), "print": {"ok": True}})
            self.inbox.put(("upgraded", (str(done.outcome), shown)))
        except HubRefused as exc:
            self.inbox.put(("scan_refused", exc.code))
        except HubError as exc:  # unreachable or a bad answer: said on the camera screen
            log.warning("scanned code not checked: %s", type(exc).__name__)
            self.inbox.put(("scan_refused", "error"))

    def _issue(self, effect: IssueTicket) -> None:
        try:
            # The effect's request id goes with every attempt: a retry gets the same ticket.
            request = TicketRequest(effect.service, effect.session_id, effect.request_id)
            issued = self.client.issue_ticket(request)
            self.inbox.put(("ticket", Ticket.from_issued(issued)))
        except HubRefused as exc:
            self.inbox.put(("ticket_failed", (exc.code, False)))
        except HubUnavailable:
            self.inbox.put(("ticket_failed", ("unavailable", True)))
        except HubError:
            self.inbox.put(("ticket_failed", ("bad_answer", False)))


@dataclass
class Controller:
    """Binds a Flow to an effect runner; `pump` is called on the UI thread every frame."""

    flow: Flow
    inbox: Inbox
    run_effect: Callable[[Effect], None]
    clock: Callable[[], float] = time.monotonic
    handled: list[str] = field(default_factory=list)

    def apply(self, effects: list[Effect]) -> None:
        """Carry out effects."""
        for effect in effects:
            self.run_effect(effect)

    def touch(self, action: str) -> None:
        """A customer pressed a button."""
        self.flow.now = self.clock()
        self.apply(self.flow.touch(action))

    def scanned(self, text: str) -> None:
        """The camera read a QR's text (UI thread)."""
        self.flow.now = self.clock()
        self.apply(self.flow.scanned(text))

    def pump(self) -> bool:
        """Apply everything that arrived and the clock; True when the screen changed."""
        before = self.flow.state.version
        self.flow.now = self.clock()
        while True:
            try:
                kind, payload = self.inbox.get_nowait()
            except queue.Empty:
                break
            self.apply(self._dispatch(kind, payload))
        self.apply(self.flow.tick(self.clock()))
        return self.flow.state.version != before

    def _dispatch(self, kind: str, payload: Any) -> list[Effect]:
        flow = self.flow
        if kind == "connected":
            return flow.hub_connected()
        if kind == "lost":
            return flow.hub_lost()
        if kind == "message":
            return flow.message(payload)
        if kind == "menu":
            return flow.menu_loaded(payload)
        if kind == "menu_failed":
            return flow.menu_failed()
        if kind == "session":
            return flow.session_update(payload)
        if kind == "ticket":
            return flow.ticket_issued(payload)
        if kind == "scan_refused":
            return flow.scan_refused(payload)
        if kind == "upgraded":
            return flow.upgraded(*payload)
        if kind == "ticket_failed":
            code, unavailable = payload
            return flow.ticket_failed(code, unavailable)
        return []
