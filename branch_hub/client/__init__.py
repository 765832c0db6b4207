"""The wire client for hub devices (kiosk, tablet, counter): typed REST and WebSocket over mutual TLS.

The apps import only this package (and `branch_hub.vocabulary`, re-exported here): it imports
nothing else from branch_hub or drivers, so device apps ship without the hub. Wire models are in
`branch_hub.client.models`; hub discovery, the app updater and the font locator are submodules.
"""

from __future__ import annotations

from branch_hub import vocabulary
from branch_hub.client._async_rest import AsyncHubClient
from branch_hub.client._backoff import Backoff
from branch_hub.client._errors import (
    AlreadyClaimed,
    DeviceRevoked,
    HubError,
    HubProtocolError,
    HubRefused,
    HubRejected,
    HubUnavailable,
    KioskSessionExpired,
    NotClaimHolder,
    Refusal,
    StaffSessionEnded,
    UnknownVisit,
    WireError,
)
from branch_hub.client._rest import HubClient, VisitFilter
from branch_hub.client._stream import EventStream, StreamNotice
from branch_hub.client._tls import DeviceTls
from branch_hub.client._wire import new_request_id
from branch_hub.vocabulary import (
    DASHBOARD_ROLES,
    NOTE_MAX_CHARS,
    RECORDABLE_OUTCOMES,
    REQUEST_ID_MAX_CHARS,
    AppName,
    CustomerLocation,
    DeclineReason,
    EventKind,
    KioskMessage,
    LeadOutcome,
    PrintProblem,
    Role,
    SessionState,
    TicketOperation,
    TimelineKind,
)

__all__ = [
    "DASHBOARD_ROLES",
    "NOTE_MAX_CHARS",
    "RECORDABLE_OUTCOMES",
    "REQUEST_ID_MAX_CHARS",
    "AlreadyClaimed",
    "AppName",
    "AsyncHubClient",
    "Backoff",
    "CustomerLocation",
    "DeclineReason",
    "DeviceRevoked",
    "DeviceTls",
    "EventKind",
    "EventStream",
    "HubClient",
    "HubError",
    "HubProtocolError",
    "HubRefused",
    "HubRejected",
    "HubUnavailable",
    "KioskMessage",
    "KioskSessionExpired",
    "LeadOutcome",
    "NotClaimHolder",
    "PrintProblem",
    "Refusal",
    "Role",
    "SessionState",
    "StaffSessionEnded",
    "StreamNotice",
    "TicketOperation",
    "TimelineKind",
    "UnknownVisit",
    "VisitFilter",
    "WireError",
    "new_request_id",
    "vocabulary",
]
