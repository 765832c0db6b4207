"""Answers a kiosk reads: the customer's session, the menu, the ticket and its printing.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else. Keys the hub leaves out when unset stay out; keys it sends as null stay null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader
from branch_hub.vocabulary import AppointmentArrival, PrintProblem, SessionState

__all__ = [
    "BookedVisit",
    "Branch",
    "Greeting",
    "KioskSession",
    "KioskTicket",
    "Menu",
    "PrintResult",
    "ServiceOffer",
    "TicketIssued",
]


@dataclass(frozen=True)
class Greeting:
    """What a kiosk may say to a recognised customer: salutation, priority and tier names."""

    salutation_zh: str
    salutation_en: str
    priority: bool
    tier_zh: str | None = None
    tier_en: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "salutation_zh": self.salutation_zh,
            "salutation_en": self.salutation_en,
            "priority": self.priority,
            "tier_zh": self.tier_zh,
            "tier_en": self.tier_en,
        }

    @classmethod
    def from_wire(cls, body: object) -> Greeting:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "greeting")
        return cls(
            r.text("salutation_zh"),
            r.text("salutation_en"),
            r.flag("priority"),
            r.opt_text("tier_zh"),
            r.opt_text("tier_en"),
        )


@dataclass(frozen=True)
class BookedVisit:
    """A booked customer's check-in as the kiosk session carries it: time, service, ticket."""

    time: str
    window_end: str
    service: str
    service_zh: str
    service_en: str
    arrival: AppointmentArrival
    reserved: bool
    repeated: bool
    ticket: KioskTicket

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "time": self.time,
            "window_end": self.window_end,
            "service": self.service,
            "service_zh": self.service_zh,
            "service_en": self.service_en,
            "arrival": self.arrival,
            "reserved": self.reserved,
            "repeated": self.repeated,
            "ticket": self.ticket.to_wire(),
        }

    @classmethod
    def from_wire(cls, body: object) -> BookedVisit:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "appointment")
        return cls(
            r.text("time"),
            r.text("window_end"),
            r.text("service"),
            r.text("service_zh"),
            r.text("service_en"),
            r.enum("arrival", AppointmentArrival),
            r.flag("reserved"),
            r.flag("repeated"),
            KioskTicket.from_wire(r.data.get("ticket")),
        )


@dataclass(frozen=True)
class KioskSession:
    """GET /kiosk/session and the `kiosk.session` message: the station's customer, or idle."""

    state: SessionState
    session_id: str | None = None
    greeting: Greeting | None = None
    problem: str | None = None
    expires_in_s: int = 0
    appointment: BookedVisit | None = None  # only when a booked customer checked in

    def to_wire(self) -> dict[str, Any]:
        """The JSON object (idle is just its state; `appointment` only when there is one)."""
        if self.state is SessionState.IDLE:
            return {"state": SessionState.IDLE}
        out = {
            "session_id": self.session_id,
            "state": self.state,
            "greeting": self.greeting.to_wire() if self.greeting else None,
            "problem": self.problem,
            "expires_in_s": self.expires_in_s,
        }
        return out | {"appointment": self.appointment.to_wire()} if self.appointment else out

    @classmethod
    def from_wire(cls, body: object) -> KioskSession:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "kiosk session")
        state = r.enum("state", SessionState)
        if state is SessionState.IDLE:
            return cls(state)
        raw_greeting = r.data.get("greeting")
        booked = r.data.get("appointment")
        return cls(
            state,
            r.text("session_id"),
            None if raw_greeting is None else Greeting.from_wire(raw_greeting),
            r.opt_text("problem"),
            r.whole("expires_in_s"),
            None if booked is None else BookedVisit.from_wire(booked),
        )


@dataclass(frozen=True)
class Branch:
    """The branch's id and names."""

    id: str
    name_zh: str
    name_en: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"id": self.id, "name_zh": self.name_zh, "name_en": self.name_en}

    @classmethod
    def from_wire(cls, body: object) -> Branch:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "branch")
        return cls(r.text("id"), r.text("name_zh"), r.text("name_en"))


@dataclass(frozen=True)
class ServiceOffer:
    """One service on the kiosk menu with its waiting count and wait range in minutes."""

    code: str
    name_zh: str
    name_en: str
    prefix: str
    waiting: int
    wait_min: tuple[int, int]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "prefix": self.prefix,
            "waiting": self.waiting,
            "wait_min": list(self.wait_min),
        }

    @classmethod
    def from_wire(cls, body: object) -> ServiceOffer:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "service")
        return cls(
            r.text("code"),
            r.text("name_zh"),
            r.text("name_en"),
            r.text("prefix"),
            r.whole("waiting"),
            r.minutes("wait_min"),
        )


@dataclass(frozen=True)
class Menu:
    """GET /kiosk/menu: the branch and its services."""

    branch: Branch
    services: tuple[ServiceOffer, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "branch": self.branch.to_wire(),
            "services": [s.to_wire() for s in self.services],
        }

    @classmethod
    def from_wire(cls, body: object) -> Menu:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "menu")
        return cls(
            Branch.from_wire(r.data.get("branch")), r.items("services", ServiceOffer.from_wire)
        )


@dataclass(frozen=True)
class KioskTicket:
    """A ticket as the kiosk (and the arrival event) shows it: no personal data."""

    id: str
    number: str
    service: str
    service_zh: str
    service_en: str
    people_ahead: int
    wait_min: tuple[int, int]
    qr: str
    issued_at: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "id": self.id,
            "number": self.number,
            "service": self.service,
            "service_zh": self.service_zh,
            "service_en": self.service_en,
            "people_ahead": self.people_ahead,
            "wait_min": list(self.wait_min),
            "qr": self.qr,
            "issued_at": self.issued_at,
        }

    @classmethod
    def from_wire(cls, body: object) -> KioskTicket:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "ticket")
        return cls(
            r.text("id"),
            r.text("number"),
            r.text("service"),
            r.text("service_zh"),
            r.text("service_en"),
            r.whole("people_ahead"),
            r.minutes("wait_min"),
            r.text("qr"),
            r.text("issued_at"),
        )


@dataclass(frozen=True)
class PrintResult:
    """Whether the ticket came out of the printer, and why not."""

    ok: bool
    problem: PrintProblem | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"ok": self.ok, "problem": self.problem}

    @classmethod
    def from_wire(cls, body: object) -> PrintResult:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "print")
        return cls(r.flag("ok"), r.opt_enum("problem", PrintProblem))


@dataclass(frozen=True)
class TicketIssued:
    """POST /kiosk/tickets' answer; `replayed` when it answers a retry of the same request."""

    ticket: KioskTicket
    printed: PrintResult
    replayed: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The JSON object (`replayed` only on a replay)."""
        out: dict[str, Any] = {"ticket": self.ticket.to_wire(), "print": self.printed.to_wire()}
        if self.replayed:
            out["replayed"] = True
        return out

    @classmethod
    def from_wire(cls, body: object) -> TicketIssued:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "ticket answer")
        replayed = r.data.get("replayed", False)
        if replayed is not True and replayed is not False:
            raise WireError("ticket answer.replayed must be true or false")
        return cls(
            KioskTicket.from_wire(r.data.get("ticket")),
            PrintResult.from_wire(r.data.get("print")),
            replayed,
        )
