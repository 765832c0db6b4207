"""The drivers' exception tree; every driver error is a `DeviceError`.

DeviceError
├── TransportError        bytes could not be moved (reader gone, socket closed, port error)
│   └── CardRemoved       the card left the reader during an exchange
├── DeviceTimeout         the device did not answer in time
├── ProtocolError         bytes arrived but do not follow the protocol
│   ├── TlvError          malformed BER-TLV
│   └── TrackError        malformed magnetic stripe track / passbook text
├── SwipeError            a stripe reader reports a failed swipe (carries its status)
└── CardError             the card answered, but refuses or lacks what we need
    ├── StatusWordError   an unexpected ISO 7816 status word (carries sw)
    └── NoApplication     no known payment application on the card
"""

from __future__ import annotations

__all__ = [
    "CardError",
    "CardRemoved",
    "DeviceError",
    "DeviceTimeout",
    "NoApplication",
    "ProtocolError",
    "StatusWordError",
    "SwipeError",
    "TlvError",
    "TrackError",
    "TransportError",
]


class DeviceError(Exception):
    """Any failure of a device, its transport or its protocol."""


class TransportError(DeviceError):
    """Bytes could not be sent to or received from the device."""


class CardRemoved(TransportError):
    """The card was removed (or lost power) during an exchange."""


class DeviceTimeout(DeviceError):
    """The device did not answer within the allowed time."""


class ProtocolError(DeviceError):
    """The device's bytes do not follow the expected protocol."""


class TlvError(ProtocolError):
    """Malformed BER-TLV data."""


class TrackError(ProtocolError):
    """Malformed magnetic stripe track or passbook stripe text."""


class SwipeError(DeviceError):
    """A magnetic stripe reader reports that it could not read the swipe."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class CardError(DeviceError):
    """The card answered but refused or lacks what the reader needs."""


class StatusWordError(CardError):
    """The card answered with an unexpected ISO 7816-4 status word."""

    def __init__(self, sw: int, context: str) -> None:
        self.sw = sw
        self.context = context
        super().__init__(f"{context}: card answered status {sw:04X}")


class NoApplication(CardError):
    """No supported payment application was found on the card."""
