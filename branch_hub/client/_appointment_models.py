"""Appointments as tablets book and list them: time, service, status, never the customer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader, check_request_id, new_request_id, optional
from branch_hub.vocabulary import AppointmentArrival, AppointmentStatus, Role

__all__ = ["AppointmentItem", "AppointmentList", "AppointmentRequest"]

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_HOUR = re.compile(
    r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
)  # an opening hour: 24:00 ends the day
_VISIT = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class AppointmentRequest:
    """POST /appointments: a same-day booking for the customer of one of today's visits.

    The tablet names the customer by the visit it holds (never a customer id); without
    `advisor_role` the booking is for the caller."""

    visit_id: str
    service: str
    window_start: str  # HH:MM today, branch time
    window_end: str
    advisor_role: Role | None = None
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        if not _VISIT.match(self.visit_id):
            raise WireError("visit_id must be a visit reference (16 hex digits)")
        if not 1 <= len(self.service) <= 48:
            raise WireError("service must be a service code")
        for name in ("window_start", "window_end"):
            if not _HHMM.match(getattr(self, name)):
                raise WireError(f"{name} must be a time HH:MM")
        if self.advisor_role is not None and not isinstance(self.advisor_role, Role):
            raise WireError("advisor_role must be a staff role")
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        out: dict[str, Any] = {
            "visit_id": self.visit_id,
            "service": self.service,
            "window_start": self.window_start,
            "window_end": self.window_end,
        }
        optional(out, "advisor_role", self.advisor_role)
        out["request_id"] = self.request_id
        return out

    @classmethod
    def from_wire(cls, body: object) -> AppointmentRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "appointment")
        return cls(
            r.text("visit_id"),
            r.text("service"),
            r.text("window_start"),
            r.text("window_end"),
            r.opt_enum("advisor_role", Role),
            r.request_id(),
        )


@dataclass(frozen=True)
class AppointmentItem:
    """One of the day's appointments: its window, service, who receives and how it stands."""

    key: str
    time: str
    window_end: str
    service: str
    service_zh: str
    service_en: str
    channel: str
    advisor_role: str | None
    for_me: bool
    status: AppointmentStatus
    arrival: AppointmentArrival | None
    ticket: str | None  # the ticket number once checked in

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "key": self.key,
            "time": self.time,
            "window_end": self.window_end,
            "service": self.service,
            "service_zh": self.service_zh,
            "service_en": self.service_en,
            "channel": self.channel,
            "advisor_role": self.advisor_role,
            "for_me": self.for_me,
            "status": self.status,
            "arrival": self.arrival,
            "ticket": self.ticket,
        }

    @classmethod
    def from_wire(cls, body: object) -> AppointmentItem:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "appointment")
        return cls(
            r.text("key"),
            r.text("time"),
            r.text("window_end"),
            r.text("service"),
            r.text("service_zh"),
            r.text("service_en"),
            r.text("channel"),
            r.opt_text("advisor_role"),
            r.flag("for_me"),
            r.enum("status", AppointmentStatus),
            r.opt_enum("arrival", AppointmentArrival),
            r.opt_text("ticket"),
        )


@dataclass(frozen=True)
class AppointmentList:
    """GET /appointments: the day's appointments the hub knows, by time, and the day's hours."""

    date: str
    appointments: tuple[AppointmentItem, ...]
    opens: str | None = None  # HH:MM branch time; both None: the branch is closed that day
    closes: str | None = None  # HH:MM, 24:00 at the latest

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "date": self.date,
            "appointments": [a.to_wire() for a in self.appointments],
            "opens": self.opens,
            "closes": self.closes,
        }

    @classmethod
    def from_wire(cls, body: object) -> AppointmentList:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "appointments")
        opens, closes = r.opt_text("opens"), r.opt_text("closes")
        for name, value in (("opens", opens), ("closes", closes)):
            if value is not None and not _HOUR.match(value):
                raise WireError(f"appointments: {name} must be a time HH:MM")
        return cls(
            r.text("date"), r.items("appointments", AppointmentItem.from_wire), opens, closes
        )
