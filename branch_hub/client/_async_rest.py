"""The staff calls of the hub API as coroutines: the same paths, wire models and errors as HubClient."""

from __future__ import annotations

from urllib.parse import urlencode

from branch_hub.client._appointment_models import (
    AppointmentItem,
    AppointmentList,
    AppointmentRequest,
)
from branch_hub.client._async_transport import AsyncHubTransport
from branch_hub.client._backoff import Backoff
from branch_hub.client._brief_models import Brief, NoteResult
from branch_hub.client._catalogue_models import CATALOGUE_FILE_MAX_BYTES, catalogue_key_of
from branch_hub.client._desk_models import DeskList
from branch_hub.client._device_models import Ended, Health
from branch_hub.client._errors import HubProtocolError
from branch_hub.client._identify_models import DESK_WAIT_LIMIT_S, IDENTIFY_AT_DESK, IdentifyRequest
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
    TransferRequest,
)
from branch_hub.client._rest import (
    REPORT_PDF_MAX_BYTES,
    Notify,
    ReportPeriod,
    VisitFilter,
    report_path,
)
from branch_hub.client._staff_models import (
    ClaimResult,
    HandoffResult,
    LoginResult,
    TicketResult,
    VisitList,
    VisitRow,
)
from branch_hub.client._stream import EventStream
from branch_hub.client._transport import segment
from branch_hub.vocabulary import TicketOperation

__all__ = ["AsyncHubClient"]


class AsyncHubClient(AsyncHubTransport):
    """Talk to one hub's API as a staff tablet or counter, on an asyncio loop."""

    async def health(self) -> Health:
        """The hub's health report (and the event log's last seq)."""
        return Health.from_wire(await self.get("/health"))

    async def login(self, staff_id: str, pin: str) -> LoginResult:
        """Open a staff session on this device; later requests carry its token."""
        answer = await self.post("/login", LoginRequest(staff_id, pin).to_wire())
        result = LoginResult.from_wire(answer)
        self.token = result.token
        return result

    async def logout(self) -> None:
        """Close the staff session (and forget the token even if the hub cannot be told)."""
        try:
            if self.token:
                Ended.from_wire(await self.post("/logout"))
        finally:
            self.token = None

    def staff_events(
        self, since: int, on_notice: Notify | None = None, backoff: Backoff | None = None
    ) -> EventStream:
        """The branch's event stream from after `since`, resuming across drops (not started)."""
        return EventStream(
            self, "/events", resume=True, since=since, on_notice=on_notice, backoff=backoff
        )

    async def visits(self, state: VisitFilter = "all") -> tuple[VisitRow, ...]:
        """Today's visits: waiting, serving or all."""
        if state not in ("waiting", "serving", "all"):
            raise HubProtocolError(f"no such visit filter {state!r}")
        return VisitList.from_wire(await self.get(f"/visits?state={state}")).visits

    async def brief(self, visit_id: str) -> Brief:
        """The visit's brief for my role."""
        return Brief.from_wire(await self.get(f"/visits/{segment(visit_id)}/brief"))

    async def claim(self, visit_id: str, request: CommandRequest | None = None) -> ClaimResult:
        """Claim the customer so nobody approaches twice."""
        body = (request or CommandRequest()).to_wire()
        return ClaimResult.from_wire(await self.post(f"/visits/{segment(visit_id)}/claim", body))

    async def add_note(self, visit_id: str, request: NoteRequest) -> NoteResult:
        """Leave a note about the visit for colleagues."""
        answer = await self.post(f"/visits/{segment(visit_id)}/notes", request.to_wire())
        return NoteResult.from_wire(answer)

    async def handoff(self, visit_id: str, request: HandoffRequest) -> HandoffResult:
        """Hand the customer to a colleague or a role."""
        answer = await self.post(f"/visits/{segment(visit_id)}/handoff", request.to_wire())
        return HandoffResult.from_wire(answer)

    async def lead_outcome(
        self, visit_id: str, lead_id: str, request: LeadOutcomeRequest
    ) -> OutcomeResult:
        """Record what happened with one of the customer's leads."""
        path = f"/visits/{segment(visit_id)}/leads/{segment(lead_id)}/outcome"
        return OutcomeResult.from_wire(await self.post(path, request.to_wire()))

    async def record_product_view(self, request: ProductViewRequest) -> ProductViewRecorded:
        """Record that I read, presented or compared a catalogue product (for a visit or none)."""
        answer = await self.post("/catalogue/views", request.to_wire())
        return ProductViewRecorded.from_wire(answer)

    async def call_next(
        self, counter_id: str, request: CommandRequest | None = None
    ) -> TicketResult:
        """Call the next ticket to a counter (ticket None: nobody is waiting)."""
        body = (request or CommandRequest()).to_wire()
        answer = await self.post(f"/counters/{segment(counter_id)}/call-next", body)
        return TicketResult.from_wire(answer)

    async def ticket_operation(
        self,
        operation: TicketOperation,
        ticket_id: str,
        request: CommandRequest | TransferRequest | None = None,
    ) -> TicketResult:
        """Recall, no-show, finish, park or transfer a ticket."""
        operation = TicketOperation(operation)
        if operation is TicketOperation.TRANSFER and not isinstance(request, TransferRequest):
            raise HubProtocolError("a transfer needs a TransferRequest")
        body = (request or CommandRequest()).to_wire()
        answer = await self.post(f"/tickets/{segment(ticket_id)}/{operation.value}", body)
        return TicketResult.from_wire(answer)

    async def identify_ticket(self, ticket_id: str, request: IdentifyRequest) -> TicketResult:
        """A walk-in's customer shows an identifier: the waiting ticket takes their class."""
        # At a desk the hub waits for the card to be placed: give it that long to answer.
        waits = DESK_WAIT_LIMIT_S if request.by == IDENTIFY_AT_DESK else 0.0
        path = f"/tickets/{segment(ticket_id)}/identify"
        answer = await self.post(path, request.to_wire(), waits_s=waits)
        return TicketResult.from_wire(answer)

    async def branch_report(
        self, period: ReportPeriod = "day", day: str | None = None
    ) -> BranchReport:
        """The branch's report for the day, ISO week or month holding `day` (default today)."""
        return BranchReport.from_wire(await self.get(report_path(period, day)))

    async def branch_report_pdf(
        self, period: ReportPeriod = "day", day: str | None = None
    ) -> bytes:
        """The same report as A4 PDF pages (bytes to save, print or mail)."""
        return await self.get_bytes(report_path(period, day, ".pdf"), REPORT_PDF_MAX_BYTES)

    async def desks(self) -> DeskList:
        """The staff desks whose ID readers can identify a waiting walk-in."""
        return DeskList.from_wire(await self.get("/desks"))

    async def book_appointment(self, request: AppointmentRequest) -> AppointmentItem:
        """Book a same-day appointment for the customer of one of today's visits."""
        return AppointmentItem.from_wire(await self.post("/appointments", request.to_wire()))

    async def appointments(self, day: str | None = None) -> AppointmentList:
        """The day's appointments (default today), by time; no customer on the wire."""
        query = f"?{urlencode({'date': day})}" if day else ""
        return AppointmentList.from_wire(await self.get(f"/appointments{query}"))

    async def catalogue_file(self, name: str) -> bytes:
        """One signed file of the hub's catalogue mirror (`latest.json`, `manifest.json`, a chunk)."""
        return await self.get_bytes(f"/catalogue/files/{segment(name)}", CATALOGUE_FILE_MAX_BYTES)

    async def catalogue_key(self) -> str:
        """HQ's catalogue signing key (hex) as the hub holds it, for CatalogueCopy to pin."""
        return catalogue_key_of(await self.get("/catalogue/key"))

    async def check_pin(self, token: str, pin: str) -> None:
        """Check the signed-in staff member's PIN (HubRefused wrong_pin / account_locked if not)."""
        body = PinCheckRequest(pin).to_wire()
        await self.request("POST", "/session/pin-check", body, token=token)
