"""PC/SC readers: transport to a card, and a watcher thread emitting device events."""

from __future__ import annotations

from drivers.pcsc.transport import PcscTransport
from drivers.pcsc.watcher import (
    CardWatcher,
    FailReason,
    ReadFailure,
    asyncio_sink,
    read_card,
    wait_for_card,
)

__all__ = [
    "CardWatcher",
    "FailReason",
    "PcscTransport",
    "ReadFailure",
    "asyncio_sink",
    "read_card",
    "wait_for_card",
]
