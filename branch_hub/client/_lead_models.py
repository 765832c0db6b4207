"""A brief's lead details: the outcome recorded on a lead, a lead held back as declined, and
the answer to recording an outcome.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._wire import Reader
from branch_hub.vocabulary import DeclineReason, LeadOutcome, Role

__all__ = ["HeldBackLead", "OutcomeResult", "RecordedOutcome"]


@dataclass(frozen=True)
class RecordedOutcome:
    """The outcome recorded today on a lead: what, by whom (id and role), when, why or until when."""

    outcome: LeadOutcome
    by: str
    role: Role
    at: str
    reason: DeclineReason | None = None
    follow_up_on: str | None = None  # YYYY-MM-DD

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "outcome": self.outcome,
            "by": self.by,
            "role": self.role,
            "at": self.at,
            "reason": self.reason,
            "follow_up_on": self.follow_up_on,
        }

    @classmethod
    def from_wire(cls, body: object) -> RecordedOutcome:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "recorded outcome")
        return cls(
            r.enum("outcome", LeadOutcome),
            r.text("by"),
            r.enum("role", Role),
            r.text("at"),
            r.opt_enum("reason", DeclineReason),
            r.opt_text("follow_up_on"),
        )


@dataclass(frozen=True)
class HeldBackLead:
    """A lead the customer declined recently: shown as "do not re-pitch", never offered."""

    lead_id: str
    product: str
    product_code: str
    score: str
    declined_on: str  # YYYY-MM-DD
    reason: DeclineReason
    source: str  # "hq": HQ's history | "branch": recorded here
    role: Role | None = None  # who recorded it here

    def to_wire(self) -> dict[str, Any]:
        """The JSON object (a held-back lead comes without its talking points)."""
        return {
            "lead_id": self.lead_id,
            "product": self.product,
            "product_code": self.product_code,
            "score": self.score,
            "declined_on": self.declined_on,
            "reason": self.reason,
            "source": self.source,
            "role": self.role,
        }

    @classmethod
    def from_wire(cls, body: object) -> HeldBackLead:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "held-back lead")
        return cls(
            r.text("lead_id"),
            r.text("product"),
            r.text("product_code"),
            r.text("score"),
            r.text("declined_on"),
            r.enum("reason", DeclineReason),
            r.text("source"),
            r.opt_enum("role", Role),
        )


@dataclass(frozen=True)
class OutcomeResult:
    """POST /visits/{id}/leads/{lead}/outcome's answer."""

    visit_id: str
    lead_id: str
    outcome: LeadOutcome
    by: str
    reason: DeclineReason | None = None
    follow_up_on: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "lead_id": self.lead_id,
            "outcome": self.outcome,
            "by": self.by,
            "reason": self.reason,
            "follow_up_on": self.follow_up_on,
        }

    @classmethod
    def from_wire(cls, body: object) -> OutcomeResult:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "outcome answer")
        return cls(
            r.text("visit_id"),
            r.text("lead_id"),
            r.enum("outcome", LeadOutcome),
            r.text("by"),
            r.opt_enum("reason", DeclineReason),
            r.opt_text("follow_up_on"),
        )
