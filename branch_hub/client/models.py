"""The hub API's wire models: typed request bodies and answers, stdlib dataclasses only.

Every model has `to_wire() -> dict` giving the hub's JSON exactly and `from_wire(obj)` that
raises `WireError` (a `HubProtocolError`) on any other shape, never anything else.
"""

from __future__ import annotations

from branch_hub.client._appointment_models import (
    AppointmentItem,
    AppointmentList,
    AppointmentRequest,
)
from branch_hub.client._board_models import (
    BoardAlert,
    BoardCounter,
    BoardDevice,
    CacheAge,
    HqLink,
    LobbyBoard,
    TierWait,
    UnclaimedCustomer,
)
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
from branch_hub.client._catalogue_models import CatalogueInfo, CatalogueProduct, CatalogueProducts
from branch_hub.client._counter_models import CounterTarget, QueueTargets, ServiceTarget
from branch_hub.client._desk_models import Desk, DeskList
from branch_hub.client._device_models import AppOffer, Ended, ErrorBody, Health, PushEvent
from branch_hub.client._errors import WireError
from branch_hub.client._handoff_models import (
    AlertDismissed,
    HandoffAccepted,
    ManagerAlert,
    ManagerAlerts,
    StaffDirectory,
    StaffMember,
    VisitHandoff,
)
from branch_hub.client._identify_models import IdentifyRequest
from branch_hub.client._kiosk_models import (
    BookedVisit,
    Branch,
    Greeting,
    KioskSession,
    KioskTicket,
    Menu,
    PrintResult,
    ServiceOffer,
    TicketIssued,
)
from branch_hub.client._lead_models import HeldBackLead, OutcomeResult, RecordedOutcome
from branch_hub.client._product_models import LeadProduct, ProductViewRecorded, ProductViewRequest
from branch_hub.client._report_models import BranchReport, StaffLine
from branch_hub.client._requests import (
    CallNextRequest,
    ClaimRequest,
    CommandRequest,
    EndSessionRequest,
    HandoffRequest,
    LeadOutcomeRequest,
    LoginRequest,
    NoteRequest,
    PinCheckRequest,
    ReportRequest,
    ResumeRequest,
    TicketOperationRequest,
    TicketRequest,
    TransferRequest,
)
from branch_hub.client._scan_models import (
    SCANNED_MAX_CHARS,
    ScanRequest,
    TicketUpgraded,
    UpgradeRequest,
)
from branch_hub.client._staff_models import (
    ClaimResult,
    CounterLoad,
    Dashboard,
    HandoffResult,
    LoginResult,
    ServedTicket,
    ServiceLoad,
    StaffTicket,
    TicketResult,
    VisitList,
    VisitRow,
)
from branch_hub.client._timeline_models import TimelineEntry, TimelineVisit, VisitTimeline
from branch_hub.client._wire import check_request_id, new_request_id

__all__ = [
    "SCANNED_MAX_CHARS",
    "AlertDismissed",
    "AppOffer",
    "AppointmentItem",
    "AppointmentList",
    "AppointmentRequest",
    "BoardAlert",
    "BoardCounter",
    "BoardDevice",
    "BookedVisit",
    "Branch",
    "BranchReport",
    "Brief",
    "BriefAttrition",
    "BriefLead",
    "BriefNote",
    "BriefProducts",
    "BriefRisk",
    "BriefTier",
    "CacheAge",
    "CallNextRequest",
    "CatalogueInfo",
    "CatalogueProduct",
    "CatalogueProducts",
    "ClaimRequest",
    "ClaimResult",
    "CommandRequest",
    "CounterLoad",
    "CounterTarget",
    "Dashboard",
    "Desk",
    "DeskList",
    "EndSessionRequest",
    "Ended",
    "ErrorBody",
    "Greeting",
    "HandoffAccepted",
    "HandoffRequest",
    "HandoffResult",
    "Health",
    "HeldBackLead",
    "HqLink",
    "IdentifyRequest",
    "KioskSession",
    "KioskTicket",
    "LeadOutcomeRequest",
    "LeadProduct",
    "LobbyBoard",
    "LoginRequest",
    "LoginResult",
    "ManagerAlert",
    "ManagerAlerts",
    "Menu",
    "NoteRequest",
    "NoteResult",
    "OutcomeResult",
    "PinCheckRequest",
    "PrintResult",
    "ProductViewRecorded",
    "ProductViewRequest",
    "PushEvent",
    "QueueTargets",
    "RecordedOutcome",
    "ReportRequest",
    "ResumeRequest",
    "ScanRequest",
    "ServedTicket",
    "ServiceLoad",
    "ServiceOffer",
    "ServiceTarget",
    "StaffDirectory",
    "StaffLine",
    "StaffMember",
    "StaffTicket",
    "TicketIssued",
    "TicketOperationRequest",
    "TicketRequest",
    "TicketResult",
    "TicketUpgraded",
    "TierWait",
    "TimelineEntry",
    "TimelineVisit",
    "TransferRequest",
    "UnclaimedCustomer",
    "UpgradeRequest",
    "VisitHandoff",
    "VisitList",
    "VisitRow",
    "VisitTimeline",
    "WireError",
    "check_request_id",
    "new_request_id",
]
