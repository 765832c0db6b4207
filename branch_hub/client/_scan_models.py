"""What the kiosk's camera reads and sends: an appointment code, or a printed ticket's QR.

POST /kiosk/scan {code}: the text of an appointment QR HQ texted the customer; the answer is the
station's session, as a card read would start it (with the check-in when one is due).
POST /kiosk/session/upgrade {code}: the text of a ticket's QR, shown by the recognised customer
in front of the kiosk; the answer is the ticket and what identifying it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._kiosk_models import KioskTicket
from branch_hub.client._wire import Reader, check_request_id, new_request_id
from branch_hub.vocabulary import UpgradeOutcome

__all__ = ["SCANNED_MAX_CHARS", "ScanRequest", "TicketUpgraded", "UpgradeRequest"]

SCANNED_MAX_CHARS = 256  # a QR's text as the kiosk sends it (a ticket's link or a code)


def _scanned(code: object) -> None:
    if not isinstance(code, str) or not code.strip() or len(code) > SCANNED_MAX_CHARS:
        raise WireError(f"code must be 1-{SCANNED_MAX_CHARS} characters")


@dataclass(frozen=True)
class ScanRequest:
    """An appointment QR's text (it is a secret: never in a repr)."""

    code: str = field(repr=False)

    def __post_init__(self) -> None:
        _scanned(self.code)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"code": self.code}

    @classmethod
    def from_wire(cls, body: object) -> ScanRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        return cls(Reader(body, "scan").text("code"))


@dataclass(frozen=True)
class UpgradeRequest:
    """A printed ticket's QR text, to identify that ticket with the station's customer."""

    code: str = field(repr=False)
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        _scanned(self.code)
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"code": self.code, "request_id": self.request_id}

    @classmethod
    def from_wire(cls, body: object) -> UpgradeRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "upgrade")
        return cls(r.text("code"), r.request_id())


@dataclass(frozen=True)
class TicketUpgraded:
    """POST /kiosk/session/upgrade's answer: the ticket (same number) and what happened."""

    outcome: UpgradeOutcome
    ticket: KioskTicket

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"outcome": self.outcome, "ticket": self.ticket.to_wire()}

    @classmethod
    def from_wire(cls, body: object) -> TicketUpgraded:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "upgrade answer")
        return cls(r.enum("outcome", UpgradeOutcome), KioskTicket.from_wire(r.data.get("ticket")))
