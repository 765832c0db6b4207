"""POST /tickets/{ticket_id}/identify: the identifier a walk-in's customer shows the lobby manager."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader, check_request_id, new_request_id

__all__ = [
    "DESK_WAIT_LIMIT_S",
    "IDENTIFY_AT_DESK",
    "IDENTIFY_BY",
    "IDENTIFY_VALUE_MAX_CHARS",
    "STATION_MAX_CHARS",
    "IdentifyRequest",
]

IDENTIFY_BY = ("id_number", "passbook", "pan")
"""A typed identifier: an ID card's number, a passbook account, a card number."""
IDENTIFY_AT_DESK = "desk"
DESK_WAIT_LIMIT_S = 60.0
"""The longest the hub may wait for a card at a desk (`[hub] desk_read_wait_s` at most)."""
"""The next ID card read at a staff desk's reader (`station` names the desk, no `value`)."""
IDENTIFY_VALUE_MAX_CHARS = 32
STATION_MAX_CHARS = 16


@dataclass(frozen=True)
class IdentifyRequest:
    """A typed identifier, or a desk whose next read it is; used once and never stored."""

    by: str
    value: str | None = None
    request_id: str = field(default_factory=new_request_id)
    station: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.by == IDENTIFY_AT_DESK:
            self._check_desk()
        elif self.by in IDENTIFY_BY:
            value = self.value
            if (
                not isinstance(value, str)
                or not value.strip()
                or len(value) > IDENTIFY_VALUE_MAX_CHARS
            ):
                raise WireError(f"value must be 1-{IDENTIFY_VALUE_MAX_CHARS} characters")
            if self.station is not None:
                raise WireError(f"station is only for by={IDENTIFY_AT_DESK}")
        else:
            raise WireError(f"by must be one of {', '.join((*IDENTIFY_BY, IDENTIFY_AT_DESK))}")
        check_request_id(self.request_id)

    def _check_desk(self) -> None:
        station = self.station
        if not isinstance(station, str) or not station.strip() or len(station) > STATION_MAX_CHARS:
            raise WireError(f"station must be 1-{STATION_MAX_CHARS} characters")
        if self.value is not None:
            raise WireError(f"by={IDENTIFY_AT_DESK} takes no value: the desk's reader reads it")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        if self.by == IDENTIFY_AT_DESK:
            return {"by": self.by, "station": self.station, "request_id": self.request_id}
        return {"by": self.by, "value": self.value, "request_id": self.request_id}

    def __repr__(self) -> str:
        if self.by == IDENTIFY_AT_DESK:
            return f"IdentifyRequest(by={self.by!r}, station={self.station!r})"
        return f"IdentifyRequest(by={self.by!r}, value=<hidden>)"

    @classmethod
    def from_wire(cls, body: object) -> IdentifyRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "identify")
        return cls(r.text("by"), r.opt_text("value"), r.request_id(), station=r.opt_text("station"))
