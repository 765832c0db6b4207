"""The hub API as typed methods: the one place that knows paths and bodies.

Commands take a request model carrying the action's `request_id`; a caller that retries an
action passes the same model again, so the hub can answer the retry with its first answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

import requests

from branch_hub.client._appointment_models import (
    AppointmentItem,
    AppointmentList,
    AppointmentRequest,
)
from branch_hub.client._backoff import Backoff
from branch_hub.client._board_models import LobbyBoard
from branch_hub.client._brief_models import Brief, NoteResult
from branch_hub.client._catalogue_models import (
    CATALOGUE_FILE_MAX_BYTES,
    CatalogueInfo,
    CatalogueProducts,
    catalogue_key_of,
)
from branch_hub.client._counter_models import QueueTargets
from branch_hub.client._desk_models import DeskList
from branch_hub.client._device_models import AppOffer, Ended, Health
from branch_hub.client._errors import HubProtocolError, HubUnavailable
from branch_hub.client._handoff_models import (
    AlertDismissed,
    HandoffAccepted,
    ManagerAlerts,
    StaffDirectory,
)
from branch_hub.client._identify_models import DESK_WAIT_LIMIT_S, IDENTIFY_AT_DESK, IdentifyRequest
from branch_hub.client._kiosk_models import KioskSession, Menu, TicketIssued
from branch_hub.client._lead_models import OutcomeResult
from branch_hub.client._product_models import ProductViewRecorded, ProductViewRequest
from branch_hub.client._report_models import BranchReport
from branch_hub.client._requests import (
    CommandRequest,
    HandoffRequest,
    LeadOutcomeRequest,
    LoginRequest,
    NoteRequest,
    PinCheckRequest,
    ReportRequest,
    ResumeRequest,
    TicketRequest,
    TransferRequest,
)
from branch_hub.client._scan_models import ScanRequest, TicketUpgraded, UpgradeRequest
from branch_hub.client._staff_models import (
    ClaimResult,
    Dashboard,
    HandoffResult,
    LoginResult,
    TicketResult,
    VisitList,
    VisitRow,
)
from branch_hub.client._stream import EventStream, StreamNotice
from branch_hub.client._timeline_models import VisitTimeline
from branch_hub.client._transport import HubTransport, segment
from branch_hub.vocabulary import AppName, TicketOperation

ReportPeriod = Literal["day", "week", "month"]


def report_path(period: ReportPeriod, day: str | None, suffix: str = "") -> str:
    """The report's path (`suffix` ".pdf" for the printable one) with its date query."""
    if period not in ("day", "week", "month"):
        raise HubProtocolError(f"no such report period {period!r}")
    return f"/reports/{period}{suffix}" + (f"?{urlencode({'date': day})}" if day else "")


REPORT_PDF_MAX_BYTES = 16 << 20  # a month's report is tens of kilobytes

__all__ = ["HubClient", "ReportPeriod", "VisitFilter", "report_path"]

VisitFilter = Literal["waiting", "serving", "all"]
Notify = Callable[[StreamNotice], None]
_CHUNK = 1 << 16


class HubClient(HubTransport):
    """Talk to one hub's API as an enrolled kiosk, tablet or counter."""

    # -- every device -------------------------------------------------------------------------
    def health(self) -> Health:
        """The hub's health report (and the event log's last seq)."""
        return Health.from_wire(self.get("/health"))

    # -- kiosk --------------------------------------------------------------------------------
    def kiosk_session(self) -> KioskSession:
        """This station's kiosk session, or idle."""
        return KioskSession.from_wire(self.get("/kiosk/session"))

    def menu(self) -> Menu:
        """The branch's services with waiting counts and wait ranges."""
        return Menu.from_wire(self.get("/kiosk/menu"))

    def issue_ticket(self, request: TicketRequest) -> TicketIssued:
        """Issue (and print) a ticket; retrying with the same request gets the same ticket."""
        return TicketIssued.from_wire(self.post("/kiosk/tickets", request.to_wire()))

    def scan_code(self, request: ScanRequest) -> KioskSession:
        """Check in by an appointment QR: the session a card read would start."""
        return KioskSession.from_wire(self.post("/kiosk/scan", request.to_wire()))

    def upgrade_ticket(self, request: UpgradeRequest) -> TicketUpgraded:
        """Identify a printed ticket (its QR's text) with this station's recognised customer."""
        return TicketUpgraded.from_wire(self.post("/kiosk/session/upgrade", request.to_wire()))

    def end_session(self, request: CommandRequest | None = None) -> Ended:
        """End this station's kiosk session (forgetting the customer)."""
        body = (request or CommandRequest()).to_wire()
        return Ended.from_wire(self.post("/kiosk/session/end", body))

    def kiosk_events(
        self, on_notice: Notify | None = None, backoff: Backoff | None = None
    ) -> EventStream:
        """The station's live messages (not started; call `.start()`)."""
        return EventStream(self, "/kiosk/events", on_notice=on_notice, backoff=backoff)

    # -- staff session ------------------------------------------------------------------------
    def login(self, staff_id: str, pin: str) -> LoginResult:
        """Open a staff session on this device; later requests carry its token."""
        answer = self.post("/login", LoginRequest(staff_id, pin).to_wire())
        result = LoginResult.from_wire(answer)
        self.token = result.token
        return result

    def logout(self) -> None:
        """Close the staff session (and forget the token even if the hub cannot be told)."""
        try:
            if self.token:
                Ended.from_wire(self.post("/logout"))
        finally:
            self.token = None

    def staff_events(
        self,
        since: int,
        on_notice: Notify | None = None,
        backoff: Backoff | None = None,
    ) -> EventStream:
        """The branch's event stream from after `since`, resuming across drops (not started)."""
        return EventStream(
            self, "/events", resume=True, since=since, on_notice=on_notice, backoff=backoff
        )

    # -- visits and briefs --------------------------------------------------------------------
    def visits(self, state: VisitFilter = "all") -> tuple[VisitRow, ...]:
        """Today's visits: waiting, serving or all."""
        if state not in ("waiting", "serving", "all"):
            raise HubProtocolError(f"no such visit filter {state!r}")
        return VisitList.from_wire(self.get(f"/visits?state={state}")).visits

    def brief(self, visit_id: str) -> Brief:
        """The visit's brief for my role."""
        return Brief.from_wire(self.get(f"/visits/{segment(visit_id)}/brief"))

    def timeline(self, visit_id: str) -> VisitTimeline:
        """Colleagues' work with the customer: this visit and the last ones, newest first."""
        return VisitTimeline.from_wire(self.get(f"/visits/{segment(visit_id)}/timeline"))

    def claim(self, visit_id: str, request: CommandRequest | None = None) -> ClaimResult:
        """Claim the customer so nobody approaches twice."""
        body = (request or CommandRequest()).to_wire()
        return ClaimResult.from_wire(self.post(f"/visits/{segment(visit_id)}/claim", body))

    def add_note(self, visit_id: str, request: NoteRequest) -> NoteResult:
        """Leave a note about the visit for colleagues."""
        answer = self.post(f"/visits/{segment(visit_id)}/notes", request.to_wire())
        return NoteResult.from_wire(answer)

    def handoff(self, visit_id: str, request: HandoffRequest) -> HandoffResult:
        """Hand the customer to a colleague or a role."""
        answer = self.post(f"/visits/{segment(visit_id)}/handoff", request.to_wire())
        return HandoffResult.from_wire(answer)

    def accept_handoff(
        self, visit_id: str, request: CommandRequest | None = None
    ) -> HandoffAccepted:
        """Take over a customer handed to me (or to my role)."""
        body = (request or CommandRequest()).to_wire()
        answer = self.post(f"/visits/{segment(visit_id)}/handoff/accept", body)
        return HandoffAccepted.from_wire(answer)

    def staff_directory(self) -> StaffDirectory:
        """The branch's colleagues by name and role, on duty first."""
        return StaffDirectory.from_wire(self.get("/staff"))

    def book_appointment(self, request: AppointmentRequest) -> AppointmentItem:
        """Book a same-day appointment for the customer of one of today's visits."""
        return AppointmentItem.from_wire(self.post("/appointments", request.to_wire()))

    def appointments(self, day: str | None = None) -> AppointmentList:
        """The day's appointments (default today), by time; no customer on the wire."""
        query = f"?{urlencode({'date': day})}" if day else ""
        return AppointmentList.from_wire(self.get(f"/appointments{query}"))

    def manager_alerts(self) -> ManagerAlerts:
        """My own customers who arrived today and are still in the branch."""
        return ManagerAlerts.from_wire(self.get("/staff/me/alerts"))

    def dismiss_alert(self, visit_id: str, request: CommandRequest | None = None) -> AlertDismissed:
        """Dismiss the alert of one of my customers' arrival."""
        body = (request or CommandRequest()).to_wire()
        answer = self.post(f"/staff/me/alerts/{segment(visit_id)}/dismiss", body)
        return AlertDismissed.from_wire(answer)

    def lead_outcome(
        self, visit_id: str, lead_id: str, request: LeadOutcomeRequest
    ) -> OutcomeResult:
        """Record what happened with one of the customer's leads."""
        path = f"/visits/{segment(visit_id)}/leads/{segment(lead_id)}/outcome"
        return OutcomeResult.from_wire(self.post(path, request.to_wire()))

    def record_product_view(self, request: ProductViewRequest) -> ProductViewRecorded:
        """Record that I read, presented or compared a catalogue product (for a visit or none)."""
        return ProductViewRecorded.from_wire(self.post("/catalogue/views", request.to_wire()))

    # -- queue --------------------------------------------------------------------------------
    def call_next(self, counter_id: str, request: CommandRequest | None = None) -> TicketResult:
        """Call the next ticket to a counter (ticket None: nobody is waiting)."""
        body = (request or CommandRequest()).to_wire()
        answer = self.post(f"/counters/{segment(counter_id)}/call-next", body)
        return TicketResult.from_wire(answer)

    def ticket_operation(
        self,
        operation: TicketOperation,
        ticket_id: str,
        request: CommandRequest | TransferRequest | ResumeRequest | None = None,
    ) -> TicketResult:
        """Recall, no-show, finish, park, transfer or resume a ticket."""
        operation = TicketOperation(operation)
        if operation is TicketOperation.TRANSFER and not isinstance(request, TransferRequest):
            raise HubProtocolError("a transfer needs a TransferRequest")
        if operation is TicketOperation.RESUME and not isinstance(request, ResumeRequest):
            raise HubProtocolError("a resume needs a ResumeRequest")
        body = (request or CommandRequest()).to_wire()
        answer = self.post(f"/tickets/{segment(ticket_id)}/{operation.value}", body)
        return TicketResult.from_wire(answer)

    def recall(self, ticket_id: str, request: CommandRequest | None = None) -> TicketResult:
        """Call the ticket again."""
        return self.ticket_operation(TicketOperation.RECALL, ticket_id, request)

    def no_show(self, ticket_id: str, request: CommandRequest | None = None) -> TicketResult:
        """The called customer did not come."""
        return self.ticket_operation(TicketOperation.NO_SHOW, ticket_id, request)

    def finish(self, ticket_id: str, request: CommandRequest | None = None) -> TicketResult:
        """The customer has been served."""
        return self.ticket_operation(TicketOperation.FINISH, ticket_id, request)

    def park(self, ticket_id: str, request: CommandRequest | None = None) -> TicketResult:
        """Put the ticket aside (the customer steps away)."""
        return self.ticket_operation(TicketOperation.PARK, ticket_id, request)

    def transfer(self, ticket_id: str, request: TransferRequest) -> TicketResult:
        """Move the ticket to another service or counter."""
        return self.ticket_operation(TicketOperation.TRANSFER, ticket_id, request)

    def resume(self, ticket_id: str, request: ResumeRequest) -> TicketResult:
        """Serve a parked ticket at the request's counter."""
        return self.ticket_operation(TicketOperation.RESUME, ticket_id, request)

    def identify_ticket(self, ticket_id: str, request: IdentifyRequest) -> TicketResult:
        """A walk-in's customer shows an identifier: the waiting ticket takes their class."""
        # At a desk the hub waits for the card to be placed: give it that long to answer.
        waits = DESK_WAIT_LIMIT_S if request.by == IDENTIFY_AT_DESK else 0.0
        path = f"/tickets/{segment(ticket_id)}/identify"
        answer = self.post(path, request.to_wire(), waits_s=waits)
        return TicketResult.from_wire(answer)

    def queue_targets(self) -> QueueTargets:
        """The services and counters a ticket may be transferred to."""
        return QueueTargets.from_wire(self.get("/queue/targets"))

    def dashboard(self) -> Dashboard:
        """The lobby manager's queue dashboard."""
        return Dashboard.from_wire(self.get("/queue/dashboard"))

    def desks(self) -> DeskList:
        """The staff desks whose ID readers can identify a waiting walk-in."""
        return DeskList.from_wire(self.get("/desks"))

    def branch_report(self, period: ReportPeriod = "day", day: str | None = None) -> BranchReport:
        """The branch's report for the day, ISO week or month holding `day` (default today)."""
        return BranchReport.from_wire(self.get(report_path(period, day)))

    def branch_report_pdf(self, period: ReportPeriod = "day", day: str | None = None) -> bytes:
        """The same report as A4 PDF pages (bytes to save, print or mail)."""
        body = bytearray()
        with self.stream(report_path(period, day, ".pdf")) as response:
            try:
                for piece in response.iter_content(_CHUNK):
                    body += piece
                    if len(body) > REPORT_PDF_MAX_BYTES:
                        raise HubProtocolError("report PDF is too large")
            except requests.RequestException as exc:
                raise HubUnavailable("download of the report PDF broke off") from exc
        return bytes(body)

    def lobby_board(self) -> LobbyBoard:
        """The lobby board: waits against targets, unclaimed customers, counters, links, alerts."""
        return LobbyBoard.from_wire(self.get("/lobby/board"))

    # -- product catalogue ----------------------------------------------------------------------
    def catalogue(self) -> CatalogueInfo:
        """The product catalogue the hub serves: its sequence and counts."""
        return CatalogueInfo.from_wire(self.get("/catalogue"))

    def catalogue_products(
        self,
        query: str = "",
        category: str | None = None,
        max_risk: str | None = None,
        limit: int = 20,
    ) -> CatalogueProducts:
        """Products on sale today matching every word of `query`, best first."""
        params = {"q": query, "category": category, "max_risk": max_risk, "limit": str(limit)}
        given = {k: v for k, v in params.items() if v is not None}
        return CatalogueProducts.from_wire(self.get(f"/catalogue/products?{urlencode(given)}"))

    def catalogue_file(self, name: str) -> bytes:
        """One signed file of the hub's catalogue mirror (`latest.json`, `manifest.json`, a chunk)."""
        body = bytearray()
        with self.stream(f"/catalogue/files/{segment(name)}") as response:
            try:
                for piece in response.iter_content(_CHUNK):
                    body += piece
                    if len(body) > CATALOGUE_FILE_MAX_BYTES:
                        raise HubProtocolError(f"catalogue file {name[:70]} is too large")
            except requests.RequestException as exc:
                raise HubUnavailable(f"download of {name[:70]} broke off") from exc
        return bytes(body)

    def catalogue_key(self) -> str:
        """HQ's catalogue signing key (hex) as the hub holds it, for CatalogueCopy to pin."""
        return catalogue_key_of(self.get("/catalogue/key"))

    def check_pin(self, token: str, pin: str) -> None:
        """Check the signed-in staff member's PIN (HubRefused wrong_pin / account_locked if not)."""
        self.request("POST", "/session/pin-check", PinCheckRequest(pin).to_wire(), token=token)

    # -- app store ----------------------------------------------------------------------------
    def app_offer(self, app: AppName) -> AppOffer | None:
        """What this device's channel offers for `app` (None when nothing is published)."""
        answer = self.get(f"/apps/{segment(app)}/offer")
        return None if answer is None else AppOffer.from_wire(answer)

    def download_release(
        self, app: AppName, version: str, name: str, target: Path, max_bytes: int
    ) -> int:
        """Save one release file to `target`; raise HubProtocolError past `max_bytes`."""
        path = f"/apps/{segment(app)}/releases/{segment(version)}/{segment(name)}"
        size = 0
        with self.stream(path) as response, target.open("wb") as out:
            try:
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise HubProtocolError(f"{name} is larger than any release file")
                    out.write(chunk)
            except requests.RequestException as exc:
                raise HubUnavailable(f"download of {name} broke off: {type(exc).__name__}") from exc
        return size

    def report_update(self, app: AppName, report: ReportRequest) -> None:
        """Tell the hub what an update did on this device."""
        self.post(f"/apps/{segment(app)}/reports", report.to_wire())
