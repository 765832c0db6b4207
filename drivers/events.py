"""Events that device watchers emit to the hub, shared by every driver."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeviceEvent", "EventKind"]


class EventKind(enum.StrEnum):
    """What happened at a device."""

    card_inserted = "card_inserted"
    card_removed = "card_removed"
    card_read = "card_read"
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


@dataclass(frozen=True)
class DeviceEvent:
    """One event from one device of one station (e.g. the kiosk's card reader).

    `payload` is kind-specific: a `CardRead` for card_read, a reason string for
    read_failed/device_fault, a reader name for reader_added/removed.
    """

    station: str
    device: str
    kind: EventKind
    payload: Any = None
    at: float = field(default_factory=time.time)
