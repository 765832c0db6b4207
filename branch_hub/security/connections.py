"""Open connections per device, so a revocation can close them at once."""

from __future__ import annotations

import asyncio

__all__ = ["DeviceConnections"]


class DeviceConnections:
    """The transports each device has used (pruned as they close)."""

    def __init__(self) -> None:
        self._by_device: dict[str, set[asyncio.BaseTransport]] = {}

    def track(self, device_id: str, transport: asyncio.BaseTransport | None) -> None:
        """Remember that a device uses this connection."""
        if transport is None:
            return
        live = self._by_device.setdefault(device_id, set())
        live.add(transport)
        for gone in [t for t in live if t.is_closing()]:
            live.discard(gone)

    def close_device(self, device_id: str) -> int:
        """Abort every open connection of a device (HTTP keep-alive and WebSockets alike)."""
        closed = 0
        for transport in self._by_device.pop(device_id, set()):
            if not transport.is_closing():
                abort = getattr(transport, "abort", None)
                if callable(abort):
                    abort()
                else:
                    transport.close()
                closed += 1
        return closed

    def devices(self) -> set[str]:
        """Devices with tracked connections."""
        return set(self._by_device)
