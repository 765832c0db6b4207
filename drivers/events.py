"""Events that device watchers emit to the hub, shared by every driver, with one payload type per kind.

Every payload is a frozen dataclass; `DeviceEvent` refuses a payload of the wrong type for its
kind, so the same event arrives in the same shape whichever driver sent it. Card numbers,
names and ID numbers stay out of every repr.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drivers.idcard.text import IdentityRecord

__all__ = [
    "PAYLOAD_TYPES",
    "CardPresence",
    "CardRead",
    "DeviceEvent",
    "DeviceProblem",
    "DeviceRecovered",
    "EventKind",
    "FailReason",
    "IdCardRead",
    "PassbookRead",
    "Payload",
    "Problem",
    "ReadFailure",
    "ReaderChange",
]


class EventKind(enum.StrEnum):
    """What happened at a device."""

    card_inserted = "card_inserted"
    card_removed = "card_removed"
    card_read = "card_read"
    passbook_read = "passbook_read"
    read_failed = "read_failed"
    reader_added = "reader_added"
    reader_removed = "reader_removed"
    device_fault = "device_fault"
    device_recovered = "device_recovered"
    id_read = "id_read"
    paper_low = "paper_low"
    paper_out = "paper_out"
    cover_open = "cover_open"
    printer_offline = "printer_offline"
    printer_ok = "printer_ok"


class FailReason(enum.StrEnum):
    """Why reading one card, passbook or ID card failed, for the hub and the kiosk screen."""

    card_removed = "card_removed"
    timeout = "timeout"
    no_application = "no_application"
    card_error = "card_error"
    protocol_error = "protocol_error"
    transport_error = "transport_error"
    checksum = "checksum"
    no_card = "no_card"
    bad_swipe = "bad_swipe"


class Problem(enum.StrEnum):
    """What is wrong with a device: the payload of device_fault and of the printer's alerts."""

    unavailable = "unavailable"  # the device or its service cannot be opened
    transport = "transport"  # the link to the device was lost
    timeout = "timeout"  # the device did not answer
    checksum = "checksum"  # answers arrive corrupted
    protocol = "protocol"  # answers do not follow the protocol
    sam = "sam"  # the ID reader's security module refuses to work
    paper_low = "paper_low"
    paper_out = "paper_out"
    cover_open = "cover_open"
    offline = "offline"
    printer_error = "printer_error"


@dataclass(frozen=True)
class CardPresence:
    """Payload of card_inserted / card_removed: which reader, and the chip's ATR when known."""

    reader: str
    atr: str = ""  # hex


@dataclass(frozen=True)
class ReaderChange:
    """Payload of reader_added / reader_removed."""

    reader: str


@dataclass(frozen=True)
class CardRead:
    """Payload of card_read, by chip or by stripe; PAN, name and ID number stay out of repr."""

    pan: str = field(repr=False)
    expiry: str | None  # YYMM
    aid: str = ""  # hex; empty for a stripe
    label: str = ""
    name: str | None = field(default=None, repr=False)
    holder_id: str | None = field(default=None, repr=False)
    holder_id_type: str | None = None
    service_code: str | None = None
    source: str = ""  # ppse, pse or list for a chip; stripe for a magnetic stripe
    reader: str = ""

    def to_json(self) -> dict[str, Any]:
        """Render the CLI/hub JSON object."""
        return {
            "kind": "bank_card",
            "pan": self.pan,
            "expiry": self.expiry,
            "aid": self.aid,
            "label": self.label,
            "name": self.name,
            "holder_id": self.holder_id,
        }


@dataclass(frozen=True)
class PassbookRead:
    """Payload of passbook_read: an account read from a passbook stripe."""

    account: str = field(repr=False)
    bank: str
    track: int
    fields: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class IdCardRead:
    """Payload of id_read: the card's text fields and the sizes of the photo and fingerprint.

    The photo (WLT) and fingerprint are never kept, only their sizes.
    """

    record: IdentityRecord
    photo_bytes: int = 0
    fingerprint_bytes: int = 0

    @property
    def id_number(self) -> str:
        """The card's ID number."""
        return self.record.id_number

    def to_json(self) -> dict[str, Any]:
        """Record fields plus the photo/fingerprint sizes."""
        out = self.record.to_json()
        out["photo_bytes"] = self.photo_bytes
        out["fingerprint_bytes"] = self.fingerprint_bytes
        return out


@dataclass(frozen=True)
class ReadFailure:
    """Payload of read_failed: a typed reason and a message without personal data."""

    reader: str
    reason: FailReason
    message: str = ""
    code: str = ""  # the device's own status code when it gave one (SW3, SW1SW2, MSR status)


@dataclass(frozen=True)
class DeviceProblem:
    """Payload of device_fault, paper_low, paper_out, cover_open and printer_offline."""

    reason: Problem
    message: str = ""


@dataclass(frozen=True)
class DeviceRecovered:
    """Payload of device_recovered and printer_ok."""

    message: str = ""


Payload = (
    CardPresence
    | ReaderChange
    | CardRead
    | PassbookRead
    | IdCardRead
    | ReadFailure
    | DeviceProblem
    | DeviceRecovered
)

PAYLOAD_TYPES: dict[EventKind, type] = {
    EventKind.card_inserted: CardPresence,
    EventKind.card_removed: CardPresence,
    EventKind.card_read: CardRead,
    EventKind.passbook_read: PassbookRead,
    EventKind.read_failed: ReadFailure,
    EventKind.reader_added: ReaderChange,
    EventKind.reader_removed: ReaderChange,
    EventKind.device_fault: DeviceProblem,
    EventKind.device_recovered: DeviceRecovered,
    EventKind.id_read: IdCardRead,
    EventKind.paper_low: DeviceProblem,
    EventKind.paper_out: DeviceProblem,
    EventKind.cover_open: DeviceProblem,
    EventKind.printer_offline: DeviceProblem,
    EventKind.printer_ok: DeviceRecovered,
}


@dataclass(frozen=True)
class DeviceEvent:
    """One event from one device of one station (e.g. the kiosk's card reader)."""

    station: str
    device: str
    kind: EventKind
    payload: Payload
    at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        expected = PAYLOAD_TYPES[self.kind]
        if not isinstance(self.payload, expected):
            raise TypeError(
                f"{self.kind} carries a {expected.__name__}, not {type(self.payload).__name__}"
            )
