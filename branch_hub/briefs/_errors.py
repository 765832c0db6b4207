"""The briefs package's exception tree."""

from __future__ import annotations

__all__ = [
    "AlreadyClaimed",
    "BadDeclineReason",
    "BadFollowUpDate",
    "BriefError",
    "InvalidEntry",
    "LeadNotOffered",
    "LeadNotSuitable",
    "NotClaimHolder",
    "NotesStoreError",
    "RecordError",
    "UnknownRole",
]


class BriefError(Exception):
    """Base of every error raised by branch_hub.briefs."""


class UnknownRole(BriefError):
    """A brief was asked for a role the redaction policy does not know."""

    def __init__(self, role: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown staff role {role!r} (known: {', '.join(known)})")
        self.role = role


class RecordError(BriefError):
    """A customer record lacks what every brief needs (customer_id, name)."""


class InvalidEntry(BriefError):
    """A note, hand-off or lead outcome is malformed (empty text, unknown outcome...)."""


class BadDeclineReason(InvalidEntry):
    """A declined lead without one of the known reason codes (or a reason on another outcome)."""


class BadFollowUpDate(InvalidEntry):
    """A follow-up without a date, or one not after today, too far ahead or not a date."""


class LeadNotOffered(BriefError):
    """The customer declined this lead recently: the brief does not offer it, no outcome is taken."""

    def __init__(self, lead_id: str) -> None:
        super().__init__(f"lead {lead_id} was declined recently and is not offered again")
        self.lead_id = lead_id


class LeadNotSuitable(BriefError):
    """None of the lead's products suits the customer today: it may not be accepted or followed up."""

    def __init__(self, lead_id: str, reason: str, codes: tuple[str, ...], risks: tuple[str, ...]):
        super().__init__(f"lead {lead_id} is not suitable for this customer ({reason})")
        self.lead_id = lead_id
        self.reason = reason
        self.codes = codes
        self.risks = risks


class AlreadyClaimed(BriefError):
    """The visit is already claimed by another staff member."""

    def __init__(self, visit_id: str, staff_id: str) -> None:
        super().__init__(f"visit {visit_id} is already claimed by {staff_id}")
        self.visit_id = visit_id
        self.staff_id = staff_id


class NotClaimHolder(BriefError):
    """Only the staff member holding a claim may release or hand it off."""

    def __init__(self, visit_id: str, staff_id: str, holder: str | None) -> None:
        who = f"claimed by {holder}" if holder else "not claimed"
        super().__init__(f"visit {visit_id} is {who}, not by {staff_id}")
        self.visit_id = visit_id
        self.staff_id = staff_id
        self.holder = holder


class NotesStoreError(BriefError):
    """The notes database cannot be read or written (I/O, corruption, wrong key)."""
