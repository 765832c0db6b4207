"""PC/SC readers: transport to a card, and a watcher thread emitting device events.

Exports load on first use, so importing one codec module stays free of device libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers._lazy import lazy_exports

if TYPE_CHECKING:
    from drivers.pcsc.transport import (
        PcscTransport,
    )
    from drivers.pcsc.watcher import (
        CardWatcher,
        FailReason,
        ReadFailure,
        asyncio_sink,
        read_card,
        wait_for_card,
    )

_EXPORTS = {
    "PcscTransport": "transport",
    "CardWatcher": "watcher",
    "FailReason": "watcher",
    "ReadFailure": "watcher",
    "asyncio_sink": "watcher",
    "read_card": "watcher",
    "wait_for_card": "watcher",
}
__all__ = [
    "CardWatcher",
    "FailReason",
    "PcscTransport",
    "ReadFailure",
    "asyncio_sink",
    "read_card",
    "wait_for_card",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
