"""JSON Schemas for the API document where a wire model's JSON is not just its dataclass fields.

Every other wire model's schema comes from its dataclass through pydantic. Here: answers whose
JSON differs from the fields (an idle kiosk session is only its state, a ticket's print result
goes under `print`, health spreads its figures), answers without a client model, and the
limits the hub checks on request fields (the dataclasses check them in code, not in types).
Schemas refer to other shapes through `ref`, which also puts them into the document.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from branch_hub.appstore.store import EVENTS as REPORT_EVENTS
from branch_hub.client._appointment_models import AppointmentRequest
from branch_hub.client._identify_models import (
    IDENTIFY_AT_DESK,
    IDENTIFY_BY,
    IDENTIFY_VALUE_MAX_CHARS,
    STATION_MAX_CHARS,
)
from branch_hub.client._product_models import PRODUCT_CODE, VISIT_ID_MAX_CHARS
from branch_hub.client._scan_models import SCANNED_MAX_CHARS, ScanRequest, UpgradeRequest
from branch_hub.client.enrolment import EnrolRequest
from branch_hub.client.models import (
    BookedVisit,
    CommandRequest,
    ErrorBody,
    Greeting,
    HandoffRequest,
    Health,
    IdentifyRequest,
    KioskSession,
    KioskTicket,
    LeadOutcomeRequest,
    LoginRequest,
    NoteRequest,
    PinCheckRequest,
    PrintResult,
    ProductViewRequest,
    ReportRequest,
    ResumeRequest,
    ServedTicket,
    ServiceOffer,
    StaffTicket,
    TicketIssued,
    TicketRequest,
    TransferRequest,
)
from branch_hub.client.renewal import RenewRequest
from branch_hub.queue import TicketState
from branch_hub.security.enrolment import MAX_CSR_BYTES
from branch_hub.security.passwords import MAX_SECRET_LEN
from branch_hub.vocabulary import (
    FOLLOW_UP_DATE_MAX_CHARS,
    NOTE_MAX_CHARS,
    REPORT_DETAIL_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    REPORT_VERSION_MAX_CHARS,
    REQUEST_ID_MAX_CHARS,
    SessionState,
)

__all__ = [
    "BOARD",
    "DEVICE_LIST",
    "EXPLICIT",
    "FIELD_LIMITS",
    "RECORDED",
    "REVOKED",
    "SERVICE_MAX_CHARS",
    "STAFF_ID_MAX_CHARS",
    "TICKET_REQUEST_ID",
    "Ref",
]

Ref = Callable[[type], dict[str, Any]]
Schema = dict[str, Any]

SERVICE_MAX_CHARS = 32  # a service code, a counter id or a role in a body
STAFF_ID_MAX_CHARS = 64  # a staff id, a session id, an enrolment code
REQUEST_ID = rf"^[A-Za-z0-9_-]{{1,{REQUEST_ID_MAX_CHARS}}}$"
TICKET_REQUEST_ID = r"^[A-Za-z0-9_-]{8,64}$"  # a kiosk's key per ticket request


def _text(max_chars: int, *, nullable: bool = False) -> Schema:
    """A string with something other than spaces in it, at most `max_chars` long."""
    kind: Any = ["string", "null"] if nullable else "string"
    return {"type": kind, "minLength": 1, "maxLength": max_chars, "pattern": r"\S"}


_COUNT: Schema = {"type": "integer", "minimum": 0}
_MINUTES: Schema = {
    "type": "array",
    "description": "A [low, high] range of whole minutes.",
    "prefixItems": [_COUNT, _COUNT],
    "minItems": 2,
    "maxItems": 2,
}
_TICKET_STATE: Schema = {"type": "string", "enum": [s.value for s in TicketState]}
_OPT_REQUEST_ID: Schema = {
    "type": ["string", "null"],
    "maxLength": REQUEST_ID_MAX_CHARS,
    "pattern": REQUEST_ID,
    "description": "Made once per user action and sent again on a retry of that action: "
    "the hub answers the retry with its first answer.",
}

_HHMM: Schema = {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]$", "maxLength": 5}

# Fields with limits beyond their types: requests the hub checks, answers it guarantees.
# (The dataclasses check these in code; a model's other fields keep their derived schema.)
FIELD_LIMITS: dict[type, dict[str, Schema]] = {
    KioskTicket: {
        "number": {"type": "string", "pattern": "^[A-Z][0-9]{3,}$"},
        "people_ahead": _COUNT,
        "wait_min": _MINUTES,
    },
    ServiceOffer: {"waiting": _COUNT, "wait_min": _MINUTES},
    StaffTicket: {"state": _TICKET_STATE},
    ServedTicket: {"state": _TICKET_STATE},
    CommandRequest: {"request_id": _OPT_REQUEST_ID},
    TicketRequest: {
        "service": _text(SERVICE_MAX_CHARS),
        "session_id": {"type": ["string", "null"], "maxLength": STAFF_ID_MAX_CHARS},
        "request_id": {
            "type": ["string", "null"],
            "maxLength": 64,
            "pattern": TICKET_REQUEST_ID,
            "description": "Chosen by the kiosk per ticket request and reused on a retry: the "
            "same request_id on the same business day returns the ticket it already issued "
            "(200, reprinted) instead of a second one, also after a hub restart.",
        },
    },
    ScanRequest: {"code": _text(SCANNED_MAX_CHARS)},
    UpgradeRequest: {"code": _text(SCANNED_MAX_CHARS), "request_id": _OPT_REQUEST_ID},
    LoginRequest: {
        "staff_id": {"type": "string", "minLength": 1, "maxLength": STAFF_ID_MAX_CHARS},
        "pin": {"type": "string", "minLength": 1, "maxLength": MAX_SECRET_LEN},
    },
    PinCheckRequest: {"pin": {"type": "string", "minLength": 1, "maxLength": MAX_SECRET_LEN}},
    ProductViewRequest: {
        "product_code": {"type": "string", "pattern": f"^{PRODUCT_CODE.pattern}$", "maxLength": 20},
        "visit_id": _text(VISIT_ID_MAX_CHARS, nullable=True),
        "request_id": _OPT_REQUEST_ID,
    },
    NoteRequest: {"text": _text(NOTE_MAX_CHARS), "request_id": _OPT_REQUEST_ID},
    HandoffRequest: {
        "to_staff_id": _text(STAFF_ID_MAX_CHARS, nullable=True),
        "note": _text(NOTE_MAX_CHARS, nullable=True),
        "request_id": _OPT_REQUEST_ID,
    },
    LeadOutcomeRequest: {
        "note": _text(NOTE_MAX_CHARS, nullable=True),
        "request_id": _OPT_REQUEST_ID,
        "follow_up_on": {
            "type": ["string", "null"],
            "maxLength": FOLLOW_UP_DATE_MAX_CHARS,
            "description": "The follow-up's date (YYYY-MM-DD), after today and within "
            "`[briefs] follow_up_max_days`; required with `follow_up`, refused otherwise.",
        },
    },
    TransferRequest: {
        "service": _text(SERVICE_MAX_CHARS, nullable=True),
        "counter": _text(SERVICE_MAX_CHARS, nullable=True),
        "request_id": _OPT_REQUEST_ID,
    },
    ResumeRequest: {"counter": _text(SERVICE_MAX_CHARS), "request_id": _OPT_REQUEST_ID},
    AppointmentRequest: {
        "visit_id": {"type": "string", "pattern": "^[0-9a-f]{16}$", "maxLength": 16},
        "service": _text(48),
        "window_start": _HHMM,
        "window_end": _HHMM,
        "request_id": _OPT_REQUEST_ID,
    },
    IdentifyRequest: {
        "by": {"type": "string", "enum": [*IDENTIFY_BY, IDENTIFY_AT_DESK]},
        "value": _text(IDENTIFY_VALUE_MAX_CHARS, nullable=True)
        | {"description": "The typed identifier; required unless `by` is `desk`, refused with it."},
        "request_id": _OPT_REQUEST_ID,
        "station": _text(STATION_MAX_CHARS, nullable=True)
        | {
            "description": "The desk (GET /desks) whose next read identifies the ticket; "
            "required with `by: desk`, refused otherwise."
        },
    },
    ReportRequest: {
        "event": {"type": "string", "enum": list(REPORT_EVENTS)},
        "version": {"type": ["string", "null"], "maxLength": REPORT_VERSION_MAX_CHARS},
        "reason": {"type": "string", "maxLength": REPORT_REASON_MAX_CHARS},
        "detail": {"type": "string", "maxLength": REPORT_DETAIL_MAX_CHARS},
    },
    EnrolRequest: {
        "code": {"type": "string", "minLength": 1, "maxLength": STAFF_ID_MAX_CHARS},
        "csr": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CSR_BYTES,
            "description": "PEM certificate signing request",
        },
        "kind": {"type": "string", "description": "Ignored: the one-time code names the kind."},
    },
    RenewRequest: {
        "csr": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CSR_BYTES,
            "description": "PEM certificate signing request for the device's new EC P-256 key",
        },
        "force": {
            "type": "boolean",
            "default": False,
            "description": "Renew before the certificate's last 30 days.",
        },
    },
}


def _error(_ref: Ref) -> Schema:
    return {
        "type": "object",
        "description": ErrorBody.__doc__,
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "message_zh"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[a-z0-9_-]+$"},
                    "message": {"type": "string", "minLength": 1},
                    "message_zh": {"type": "string", "minLength": 1},
                },
            }
        },
    }


def _health(_ref: Ref) -> Schema:
    return {
        "type": "object",
        "description": Health.__doc__,
        "required": ["status", "version", "last_seq"],
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "version": {"type": "string"},
            "last_seq": {"type": "integer", "minimum": 0},
            "tls_handshakes_failed": {
                "type": "integer",
                "minimum": 0,
                "description": "TLS handshakes that failed since the hub started.",
            },
            "connections_open": {
                "type": "integer",
                "minimum": 0,
                "description": "Connections open now (counted from accept).",
            },
            "connections_refused": {
                "type": "integer",
                "minimum": 0,
                "description": "Connections closed at accept since the hub started: a peer "
                "address or the hub was at its connection cap.",
            },
            "connections_timed_out": {
                "type": "integer",
                "minimum": 0,
                "description": "Connections closed since the hub started because their request "
                "headers or body came too slowly.",
            },
        },
        "additionalProperties": True,
    }


def _kiosk_session(ref: Ref) -> Schema:
    busy = [s.value for s in SessionState if s is not SessionState.IDLE]
    return {
        "description": f"{KioskSession.__doc__} Never a full name, number or amount.",
        "oneOf": [
            {
                "type": "object",
                "required": ["state"],
                "properties": {"state": {"const": SessionState.IDLE.value}},
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["session_id", "state", "greeting", "problem", "expires_in_s"],
                "properties": {
                    "session_id": {"type": "string"},
                    "state": {"type": "string", "enum": busy},
                    "greeting": {"anyOf": [ref(Greeting), {"type": "null"}]},
                    "problem": {
                        "type": ["string", "null"],
                        "enum": [
                            None,
                            "unreadable",
                            "unknown_card",
                            "reader_fault",
                            "card_removed",
                        ],
                    },
                    "expires_in_s": {"type": "integer", "minimum": 0},
                    "appointment": ref(BookedVisit),
                },
            },
        ],
    }


def _ticket_issued(ref: Ref) -> Schema:
    return {
        "type": "object",
        "description": TicketIssued.__doc__,
        "required": ["ticket", "print"],
        "properties": {
            "ticket": ref(KioskTicket),
            "print": ref(PrintResult),
            "replayed": {"type": "boolean"},
        },
    }


# Models whose JSON is not their dataclass fields: the schema is given here.
EXPLICIT: Mapping[type, Callable[[Ref], Schema]] = {
    ErrorBody: _error,
    Health: _health,
    KioskSession: _kiosk_session,
    TicketIssued: _ticket_issued,
}

# Answers without a device-client model.
BOARD: Schema = {
    "type": "object",
    "description": "The calling board: branch names, services, recent calls, waiting counts.",
    "required": ["branch", "services", "calls", "waiting", "wait_min", "last_seq"],
    "properties": {
        "branch": {
            "type": "object",
            "required": ["name_zh", "name_en"],
            "properties": {"name_zh": {"type": "string"}, "name_en": {"type": "string"}},
        },
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "name_zh", "name_en", "prefix"],
                "properties": {
                    key: {"type": "string"} for key in ("code", "name_zh", "name_en", "prefix")
                },
            },
        },
        "calls": {"type": "array", "items": {"type": "object"}},
        "waiting": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "wait_min": {"type": "object"},
        "wait_text": {
            "type": "object",
            "description": "Per service, the wait's words by locale (zh_CN, en): the kiosk's and "
            "the ticket's words; 'next' / 即将叫号 when about to be called.",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": "string"},
            },
        },
        "last_seq": {"type": "integer", "minimum": 0},
    },
}
DEVICE_LIST: Schema = {
    "type": "object",
    "required": ["devices"],
    "properties": {
        "devices": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["device_id", "kind", "active", "enrolled_at", "cert_not_after"],
                "properties": {
                    "device_id": {"type": "string"},
                    "kind": {"type": "string"},
                    "active": {"type": "boolean"},
                    "enrolled_at": {"type": "number", "description": "Unix time"},
                    "cert_not_after": {"type": "string"},
                },
            },
        }
    },
}
REVOKED: Schema = {
    "type": "object",
    "required": ["device_id", "active"],
    "properties": {"device_id": {"type": "string"}, "active": {"type": "boolean"}},
}
RECORDED: Schema = {
    "type": "object",
    "required": ["recorded"],
    "properties": {"recorded": {"type": "boolean"}},
}
