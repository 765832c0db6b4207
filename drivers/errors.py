"""Exception tree shared by every driver: transport, protocol and timeout failures."""

from __future__ import annotations

__all__ = ["DeviceError", "DeviceTimeout", "ProtocolError", "TransportError"]


class DeviceError(Exception):
    """Any failure talking to or decoding data from a device."""


class TransportError(DeviceError):
    """The link to the device failed (port missing, unplugged, I/O error)."""


class ProtocolError(DeviceError):
    """The device (or a capture) sent bytes that break its protocol."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""
