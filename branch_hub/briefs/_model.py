"""Values shared by the brief builder and the notes store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from branch_hub.vocabulary import LeadOutcome

__all__ = ["OUTCOMES", "Claim", "Note"]

OUTCOMES = tuple(LeadOutcome)


@dataclass(frozen=True, slots=True)
class Note:
    """One entry about a visit: a claim, a colleague's note, a hand-off or a lead outcome."""

    note_id: str
    visit_id: str
    kind: str  # "claim" | "note" | "handoff" | "outcome"
    by: str
    role: str
    at: datetime
    text: str = ""
    customer_id: str | None = None
    for_role: str | None = None
    to_staff_id: str | None = None
    to_role: str | None = None
    lead_id: str | None = None
    outcome: str | None = None
    reason: str | None = None  # a declined lead's DeclineReason
    follow_up_on: str | None = None  # a follow-up's date (YYYY-MM-DD)

    def __repr__(self) -> str:  # free text and customer ids stay out of logs
        return (
            f"Note({self.note_id!r}, visit={self.visit_id!r}, kind={self.kind!r}, by={self.by!r})"
        )

    def to_brief(self) -> dict[str, Any]:
        """Return the entry as it appears in a brief's `notes` list."""
        out: dict[str, Any] = {
            "by": self.by,
            "role": self.role,
            "at": self.at.isoformat(timespec="milliseconds"),
            "text": self.text,
            "kind": self.kind,
        }
        if self.for_role is not None:
            out["for_role"] = self.for_role
        if self.kind == "handoff":
            out["to_staff_id"] = self.to_staff_id
            out["to_role"] = self.to_role
        if self.kind == "outcome":
            out["lead_id"] = self.lead_id
            out["outcome"] = self.outcome
            out["reason"] = self.reason
            out["follow_up_on"] = self.follow_up_on
        return out


@dataclass(frozen=True, slots=True)
class Claim:
    """Who is looking after a visit, since when."""

    visit_id: str
    staff_id: str
    role: str
    at: datetime
