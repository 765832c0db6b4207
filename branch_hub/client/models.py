"""The hub API's wire models: typed request bodies and answers, stdlib dataclasses only.

Every model has `to_wire() -> dict` giving the hub's JSON exactly and `from_wire(obj)` that
raises `WireError` (a `HubProtocolError`) on any other shape, never anything else.
"""

from __future__ import annotations

from branch_hub.client._brief_models import (
    Brief,
    BriefAttrition,
    BriefLead,
    BriefNote,
    BriefProducts,
    BriefRisk,
    BriefTier,
    NoteResult,
)
from branch_hub.client._device_models import AppOffer, Ended, ErrorBody, Health, PushEvent
from branch_hub.client._errors import WireError
from branch_hub.client._kiosk_models import (
    Branch,
    Greeting,
    KioskSession,
    KioskTicket,
    Menu,
    PrintResult,
    ServiceOffer,
    TicketIssued,
)
from branch_hub.client._lead_models import HeldBackLead, RecordedOutcome
from branch_hub.client._requests import (
    CallNextRequest,
    ClaimRequest,
    CommandRequest,
    EndSessionRequest,
    HandoffRequest,
    LeadOutcomeRequest,
    LoginRequest,
    NoteRequest,
    ReportRequest,
    TicketOperationRequest,
    TicketRequest,
    TransferRequest,
)
from branch_hub.client._staff_models import (
    ClaimResult,
    CounterLoad,
    Dashboard,
    HandoffResult,
    LoginResult,
    OutcomeResult,
    ServedTicket,
    ServiceLoad,
    StaffTicket,
    TicketResult,
    VisitList,
    VisitRow,
)
from branch_hub.client._wire import check_request_id, new_request_id

__all__ = [
    "AppOffer",
    "Branch",
    "Brief",
    "BriefAttrition",
    "BriefLead",
    "BriefNote",
    "BriefProducts",
    "BriefRisk",
    "BriefTier",
    "CallNextRequest",
    "ClaimRequest",
    "ClaimResult",
    "CommandRequest",
    "CounterLoad",
    "Dashboard",
    "EndSessionRequest",
    "Ended",
    "ErrorBody",
    "Greeting",
    "HandoffRequest",
    "HandoffResult",
    "Health",
    "HeldBackLead",
    "KioskSession",
    "KioskTicket",
    "LeadOutcomeRequest",
    "LoginRequest",
    "LoginResult",
    "Menu",
    "NoteRequest",
    "NoteResult",
    "OutcomeResult",
    "PrintResult",
    "PushEvent",
    "RecordedOutcome",
    "ReportRequest",
    "ServedTicket",
    "ServiceLoad",
    "ServiceOffer",
    "StaffTicket",
    "TicketIssued",
    "TicketOperationRequest",
    "TicketRequest",
    "TicketResult",
    "TransferRequest",
    "VisitList",
    "VisitRow",
    "WireError",
    "check_request_id",
    "new_request_id",
]
