"""Text messages to waiting customers: the hub asks HQ's SMS platform, through the outbox."""

from __future__ import annotations

from pydantic import Field

from branch_hub.config._strict import Strict

__all__ = ["SmsSettings"]


class SmsSettings(Strict):
    """When the hub asks HQ to text an opted-in customer that their turn is near."""

    enabled: bool = Field(
        default=False,
        description="Ask HQ's SMS platform (an `sms_request` record in the outbox) to text a "
        "recognised customer whose export says `sms_opt_in: true` once their ticket nears the "
        "front; the hub never holds the phone number (HQ looks it up by customer_id).",
    )
    ahead: int = Field(
        default=3,
        ge=0,
        le=50,
        description="People ahead of the ticket at which the text is asked for (or fewer, "
        "after a queue change jumps past it); once per ticket.",
    )
