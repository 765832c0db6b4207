"""Answers about hand-offs to a person: the staff directory, acceptances, managers' alerts.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._wire import Reader
from branch_hub.vocabulary import CustomerLocation, Role

__all__ = [
    "AlertDismissed",
    "HandoffAccepted",
    "ManagerAlert",
    "ManagerAlerts",
    "StaffDirectory",
    "StaffMember",
    "VisitHandoff",
]


@dataclass(frozen=True)
class StaffMember:
    """A colleague in GET /staff (on_duty: logged in on a tablet or counter now)."""

    staff_id: str
    name: str
    role: Role
    on_duty: bool

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "staff_id": self.staff_id,
            "name": self.name,
            "role": self.role,
            "on_duty": self.on_duty,
        }

    @classmethod
    def from_wire(cls, body: object) -> StaffMember:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "colleague")
        return cls(r.text("staff_id"), r.text("name"), r.enum("role", Role), r.flag("on_duty"))


@dataclass(frozen=True)
class StaffDirectory:
    """GET /staff: the branch's colleagues, on duty first."""

    staff: tuple[StaffMember, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"staff": [s.to_wire() for s in self.staff]}

    @classmethod
    def from_wire(cls, body: object) -> StaffDirectory:
        """Parse; raise WireError on a wrong shape."""
        return cls(Reader(body, "staff").items("staff", StaffMember.from_wire))


@dataclass(frozen=True)
class VisitHandoff:
    """A visit's latest hand-off as the lobby list shows it (accepted_by None: not yet)."""

    by: str
    to_staff_id: str | None
    to_role: Role | None
    location: CustomerLocation | None
    at: str
    accepted_by: str | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "by": self.by,
            "to_staff_id": self.to_staff_id,
            "to_role": self.to_role,
            "location": self.location,
            "at": self.at,
            "accepted_by": self.accepted_by,
        }

    @classmethod
    def from_wire(cls, body: object) -> VisitHandoff:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "visit hand-off")
        return cls(
            r.text("by"),
            r.opt_text("to_staff_id"),
            r.opt_enum("to_role", Role),
            r.opt_enum("location", CustomerLocation),
            r.text("at"),
            r.opt_text("accepted_by"),
        )


@dataclass(frozen=True)
class HandoffAccepted:
    """POST /visits/{id}/handoff/accept's answer (also the `handoff_accepted` event's data)."""

    visit_id: str
    accepted_by: str
    by: str
    location: CustomerLocation | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "accepted_by": self.accepted_by,
            "by": self.by,
            "location": self.location,
        }

    @classmethod
    def from_wire(cls, body: object) -> HandoffAccepted:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "accept answer")
        return cls(
            r.text("visit_id"),
            r.text("accepted_by"),
            r.text("by"),
            r.opt_enum("location", CustomerLocation),
        )


@dataclass(frozen=True)
class ManagerAlert:
    """One of my own customers has arrived (also the `manager_alert` event's data, less staff)."""

    visit_id: str
    ticket: str
    salutation_zh: str | None
    at: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "ticket": self.ticket,
            "salutation_zh": self.salutation_zh,
            "at": self.at,
        }

    @classmethod
    def from_wire(cls, body: object) -> ManagerAlert:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "manager alert")
        return cls(r.text("visit_id"), r.text("ticket"), r.opt_text("salutation_zh"), r.text("at"))


@dataclass(frozen=True)
class ManagerAlerts:
    """GET /staff/me/alerts: my customers who arrived today and are still here."""

    alerts: tuple[ManagerAlert, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"alerts": [a.to_wire() for a in self.alerts]}

    @classmethod
    def from_wire(cls, body: object) -> ManagerAlerts:
        """Parse; raise WireError on a wrong shape."""
        return cls(Reader(body, "manager alerts").items("alerts", ManagerAlert.from_wire))


@dataclass(frozen=True)
class AlertDismissed:
    """POST /staff/me/alerts/{visit_id}/dismiss's answer."""

    visit_id: str
    dismissed: bool

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"visit_id": self.visit_id, "dismissed": self.dismissed}

    @classmethod
    def from_wire(cls, body: object) -> AlertDismissed:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "dismissed")
        return cls(r.text("visit_id"), r.flag("dismissed"))
