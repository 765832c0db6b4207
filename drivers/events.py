"""Device events that drivers hand to the hub (card inserted, ID read, printer paper low...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["DeviceEvent", "EventKind"]


class EventKind(StrEnum):
    """What happened on a device."""

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
    """One event from one device at one station."""

    station: str
    device: str
    kind: EventKind
    payload: dict[str, Any] = field(default_factory=dict)
