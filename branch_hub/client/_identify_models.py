"""POST /tickets/{ticket_id}/identify: the identifier a walk-in's customer shows the lobby manager."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader, check_request_id, new_request_id

__all__ = ["IDENTIFY_BY", "IDENTIFY_VALUE_MAX_CHARS", "IdentifyRequest"]

IDENTIFY_BY = ("id_number", "passbook", "pan")
"""An ID card's number (the desk's ID reader or typed), a passbook account, a card number."""
IDENTIFY_VALUE_MAX_CHARS = 32


@dataclass(frozen=True)
class IdentifyRequest:
    """The identifier to look the customer up by; it is used once and never stored."""

    by: str
    value: str
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        if self.by not in IDENTIFY_BY:
            raise WireError(f"by must be one of {', '.join(IDENTIFY_BY)}")
        value = self.value
        if not isinstance(value, str) or not value.strip() or len(value) > IDENTIFY_VALUE_MAX_CHARS:
            raise WireError(f"value must be 1-{IDENTIFY_VALUE_MAX_CHARS} characters")
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"by": self.by, "value": self.value, "request_id": self.request_id}

    def __repr__(self) -> str:
        return f"IdentifyRequest(by={self.by!r}, value=<hidden>)"

    @classmethod
    def from_wire(cls, body: object) -> IdentifyRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "identify")
        return cls(r.text("by"), r.text("value"), r.request_id())
