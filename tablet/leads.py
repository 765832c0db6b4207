"""The lead outcome request a tablet sends: the outcome, and its reason or follow-up date."""

from __future__ import annotations

from branch_hub.client import DeclineReason, LeadOutcome, WireError
from branch_hub.client.models import LeadOutcomeRequest

__all__ = ["outcome_request"]


def outcome_request(
    outcome: str, note: str = "", reason: str | None = None, follow_up_on: str | None = None
) -> LeadOutcomeRequest:
    """The request for an outcome; WireError for a word that is not an outcome or a reason."""
    try:
        chosen = LeadOutcome(outcome)
        why = DeclineReason(reason) if reason is not None else None
    except ValueError:
        raise WireError(f"{outcome!r}/{reason!r} is not a lead outcome and reason") from None
    return LeadOutcomeRequest(chosen, note or None, reason=why, follow_up_on=follow_up_on or None)
