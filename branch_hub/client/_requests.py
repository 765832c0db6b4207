"""Request bodies the devices send, as frozen dataclasses that check themselves.

Every state-changing command carries a `request_id`: made once per user action and sent again
unchanged when that same action is retried, so the hub can answer the retry with its first answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader, check_request_id, new_request_id, optional
from branch_hub.vocabulary import (
    FOLLOW_UP_DATE_MAX_CHARS,
    NOTE_MAX_CHARS,
    REPORT_DETAIL_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    REPORT_VERSION_MAX_CHARS,
    CustomerLocation,
    DeclineReason,
    LeadOutcome,
    Role,
)

__all__ = [
    "CallNextRequest",
    "ClaimRequest",
    "CommandRequest",
    "EndSessionRequest",
    "HandoffRequest",
    "LeadOutcomeRequest",
    "LoginRequest",
    "NoteRequest",
    "PinCheckRequest",
    "ReportRequest",
    "ResumeRequest",
    "TicketOperationRequest",
    "TicketRequest",
    "TransferRequest",
]

SHORT_MAX_CHARS = 32  # a service code, counter id or role on the wire
ID_MAX_CHARS = 64  # a staff id or a session id


def _text(value: str, name: str, max_chars: int) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
        raise WireError(f"{name} must be 1-{max_chars} characters of text")


def _opt_text(value: str | None, name: str, max_chars: int) -> None:
    if value is not None:
        _text(value, name, max_chars)


@dataclass(frozen=True)
class CommandRequest:
    """A command without fields of its own: claim, call next, recall, no-show, finish, park."""

    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"request_id": self.request_id}

    @classmethod
    def from_wire(cls, body: object) -> Self:
        """Parse a JSON body; raise WireError on a wrong shape."""
        return cls(Reader(body, "command").request_id())


ClaimRequest = CommandRequest
CallNextRequest = CommandRequest
TicketOperationRequest = CommandRequest
EndSessionRequest = CommandRequest


@dataclass(frozen=True)
class TicketRequest:
    """POST /kiosk/tickets: a service, the kiosk session (None for a walk-in)."""

    service: str
    session_id: str | None = None
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        _text(self.service, "service", SHORT_MAX_CHARS)
        _opt_text(self.session_id, "session_id", ID_MAX_CHARS)
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {
            "service": self.service,
            "session_id": self.session_id,
            "request_id": self.request_id,
        }

    @classmethod
    def from_wire(cls, body: object) -> TicketRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "ticket request")
        return cls(r.text("service"), r.opt_text("session_id"), r.request_id())


@dataclass(frozen=True)
class LoginRequest:
    """POST /login: staff id and PIN (the PIN never appears in a repr)."""

    staff_id: str
    pin: str = field(repr=False)

    def __post_init__(self) -> None:
        _text(self.staff_id, "staff_id", ID_MAX_CHARS)
        if not isinstance(self.pin, str) or not self.pin or len(self.pin) > 256:
            raise WireError("pin must be 1-256 characters")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"staff_id": self.staff_id, "pin": self.pin}

    @classmethod
    def from_wire(cls, body: object) -> LoginRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "login")
        return cls(r.text("staff_id"), r.text("pin"))


@dataclass(frozen=True)
class PinCheckRequest:
    """POST /session/pin-check: the signed-in staff member's PIN again (never in a repr)."""

    pin: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.pin, str) or not self.pin or len(self.pin) > 256:
            raise WireError("pin must be 1-256 characters")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"pin": self.pin}

    @classmethod
    def from_wire(cls, body: object) -> PinCheckRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        return cls(Reader(body, "pin check").text("pin"))


@dataclass(frozen=True)
class NoteRequest:
    """POST /visits/{id}/notes: a note for colleagues, optionally for one role only."""

    text: str
    for_role: Role | None = None
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        _text(self.text, "text", NOTE_MAX_CHARS)
        if self.for_role is not None and not isinstance(self.for_role, Role):
            raise WireError("for_role must be a staff role")
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body (for_role only when set)."""
        out: dict[str, Any] = {"text": self.text}
        optional(out, "for_role", self.for_role)
        out["request_id"] = self.request_id
        return out

    @classmethod
    def from_wire(cls, body: object) -> NoteRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "note")
        return cls(r.text("text"), r.opt_enum("for_role", Role), r.request_id())


@dataclass(frozen=True)
class HandoffRequest:
    """POST /visits/{id}/handoff: to one colleague or to a role, with an optional note."""

    to_staff_id: str | None = None
    to_role: Role | None = None
    note: str | None = None
    request_id: str = field(default_factory=new_request_id)
    location: CustomerLocation | None = None

    def __post_init__(self) -> None:
        if self.location is not None and not isinstance(self.location, CustomerLocation):
            raise WireError("location must be a place in the branch")
        if (self.to_staff_id is None) == (self.to_role is None):
            raise WireError("a hand-off goes to exactly one of to_staff_id or to_role")
        _opt_text(self.to_staff_id, "to_staff_id", ID_MAX_CHARS)
        if self.to_role is not None and not isinstance(self.to_role, Role):
            raise WireError("to_role must be a staff role")
        _opt_text(self.note, "note", NOTE_MAX_CHARS)
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body (unset fields left out)."""
        out: dict[str, Any] = {}
        optional(out, "to_staff_id", self.to_staff_id)
        optional(out, "to_role", self.to_role)
        optional(out, "note", self.note)
        optional(out, "location", self.location)
        out["request_id"] = self.request_id
        return out

    @classmethod
    def from_wire(cls, body: object) -> HandoffRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "handoff")
        return cls(
            r.opt_text("to_staff_id"),
            r.opt_enum("to_role", Role),
            r.opt_text("note"),
            r.request_id(),
            r.opt_enum("location", CustomerLocation),
        )


@dataclass(frozen=True)
class LeadOutcomeRequest:
    """POST /visits/{id}/leads/{lead}/outcome: what happened with the lead."""

    outcome: LeadOutcome
    note: str | None = None
    request_id: str = field(default_factory=new_request_id)
    reason: DeclineReason | None = None  # declined: why (required by the hub)
    follow_up_on: str | None = None  # follow_up: when, YYYY-MM-DD (required by the hub)

    def __post_init__(self) -> None:
        if not isinstance(self.outcome, LeadOutcome):
            raise WireError("outcome must be a LeadOutcome")
        if self.reason is not None and not isinstance(self.reason, DeclineReason):
            raise WireError("reason must be a DeclineReason")
        _opt_text(self.note, "note", NOTE_MAX_CHARS)
        _opt_text(self.follow_up_on, "follow_up_on", FOLLOW_UP_DATE_MAX_CHARS)
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body (note, reason and date only when given)."""
        out: dict[str, Any] = {"outcome": self.outcome}
        optional(out, "note", self.note)
        optional(out, "reason", self.reason)
        optional(out, "follow_up_on", self.follow_up_on)
        out["request_id"] = self.request_id
        return out

    @classmethod
    def from_wire(cls, body: object) -> LeadOutcomeRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "lead outcome")
        return cls(
            r.enum("outcome", LeadOutcome),
            r.opt_text("note"),
            r.request_id(),
            r.opt_enum("reason", DeclineReason),
            r.opt_text("follow_up_on"),
        )


@dataclass(frozen=True)
class TransferRequest:
    """POST /tickets/{id}/transfer: to another service, or to a counter."""

    service: str | None = None
    counter: str | None = None
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        if self.service is None and self.counter is None:
            raise WireError("a transfer needs a service or a counter")
        _opt_text(self.service, "service", SHORT_MAX_CHARS)
        _opt_text(self.counter, "counter", SHORT_MAX_CHARS)
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body (unset fields left out)."""
        out: dict[str, Any] = {}
        optional(out, "service", self.service)
        optional(out, "counter", self.counter)
        out["request_id"] = self.request_id
        return out

    @classmethod
    def from_wire(cls, body: object) -> TransferRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "transfer")
        return cls(r.opt_text("service"), r.opt_text("counter"), r.request_id())


@dataclass(frozen=True)
class ResumeRequest:
    """POST /tickets/{id}/resume: the counter that serves the parked ticket now."""

    counter: str
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        _text(self.counter, "counter", SHORT_MAX_CHARS)
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"counter": self.counter, "request_id": self.request_id}

    @classmethod
    def from_wire(cls, body: object) -> ResumeRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "resume")
        return cls(r.text("counter"), r.request_id())


@dataclass(frozen=True)
class ReportRequest:
    """POST /apps/{app}/reports: what an update did on this device."""

    event: str
    version: str | None
    reason: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.event, str) or not isinstance(self.reason, str):
            raise WireError("event and reason must be text")
        if len(self.reason) > REPORT_REASON_MAX_CHARS:
            raise WireError(f"reason must be at most {REPORT_REASON_MAX_CHARS} characters")
        if not isinstance(self.detail, str) or len(self.detail) > REPORT_DETAIL_MAX_CHARS:
            raise WireError(f"detail must be at most {REPORT_DETAIL_MAX_CHARS} characters of text")
        if self.version is not None and not isinstance(self.version, str):
            raise WireError("version must be text or null")
        if self.version is not None and len(self.version) > REPORT_VERSION_MAX_CHARS:
            raise WireError(f"version must be at most {REPORT_VERSION_MAX_CHARS} characters")

    @classmethod
    def bounded(cls, event: str, version: str | None, reason: str, detail: str) -> ReportRequest:
        """A report with every field cut to what the hub keeps (a device never sends more)."""
        return cls(
            event,
            None if version is None else version[:REPORT_VERSION_MAX_CHARS],
            reason[:REPORT_REASON_MAX_CHARS],
            detail[:REPORT_DETAIL_MAX_CHARS],
        )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {
            "event": self.event,
            "version": self.version,
            "reason": self.reason,
            "detail": self.detail,
        }

    @classmethod
    def from_wire(cls, body: object) -> ReportRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "report")
        return cls(r.text("event"), r.opt_text("version"), r.text("reason"), r.text("detail"))
