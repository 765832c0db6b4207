"""What the hand-off desk answers: the staff directory, hand-offs, acceptances, managers' alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.vocabulary import CustomerLocation, Role

__all__ = [
    "AlertDismissed",
    "Colleague",
    "HandoffAccepted",
    "HandoffGiven",
    "ManagerAlert",
    "ManagerAlerts",
    "StaffDirectory",
]


@dataclass(frozen=True)
class Colleague:
    """A staff member as colleagues pick them (never the PIN)."""

    staff_id: str
    name: str
    role: Role
    on_duty: bool

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "staff_id": self.staff_id,
            "name": self.name,
            "role": self.role,
            "on_duty": self.on_duty,
        }


@dataclass(frozen=True)
class StaffDirectory:
    """The branch's staff: on duty first, then by role and name."""

    staff: tuple[Colleague, ...]

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"staff": [c.to_wire() for c in self.staff]}


@dataclass(frozen=True)
class HandoffGiven:
    """A customer handed to a colleague or a role, perhaps taken somewhere (the event's data)."""

    visit_id: str
    by: str
    to_staff_id: str | None
    to_role: Role | None
    location: CustomerLocation | None = None
    note: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """JSON form (the note only in the answer and the receiver's brief, never the event)."""
        return {
            "visit_id": self.visit_id,
            "by": self.by,
            "to_staff_id": self.to_staff_id,
            "to_role": self.to_role,
            "location": self.location,
        }


@dataclass(frozen=True)
class HandoffAccepted:
    """The receiver took the customer over (the `handoff_accepted` event's data)."""

    visit_id: str
    accepted_by: str
    by: str
    location: CustomerLocation | None

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "visit_id": self.visit_id,
            "accepted_by": self.accepted_by,
            "by": self.by,
            "location": self.location,
        }


@dataclass(frozen=True)
class ManagerAlert:
    """One of the manager's own customers has arrived (a ticket and a salutation only)."""

    visit_id: str
    ticket: str
    salutation_zh: str | None
    at: str

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "visit_id": self.visit_id,
            "ticket": self.ticket,
            "salutation_zh": self.salutation_zh,
            "at": self.at,
        }


@dataclass(frozen=True)
class ManagerAlerts:
    """The caller's undismissed alerts of today whose visit has not ended."""

    alerts: tuple[ManagerAlert, ...]

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"alerts": [a.to_wire() for a in self.alerts]}


@dataclass(frozen=True)
class AlertDismissed:
    """An alert the manager dismissed."""

    visit_id: str

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        return {"visit_id": self.visit_id, "dismissed": True}
