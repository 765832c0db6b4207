"""ISO 7816-4 / EMV command APDUs, status words, and the one exchange every command passes."""

from __future__ import annotations

import logging
from typing import Protocol

from drivers.errors import ProtocolError, StatusWordError

__all__ = [
    "SW_MEANINGS",
    "CardTransport",
    "describe_sw",
    "exchange",
    "get_processing_options",
    "get_response",
    "read_record",
    "select",
]

log = logging.getLogger(__name__)

# ISO 7816-4 §5.1.3 and EMV Book 1 §9.4 / Book 3 §6.3.5.
SW_MEANINGS: dict[int, str] = {
    0x9000: "OK",
    0x6283: "selected file invalidated (application blocked)",
    0x6700: "wrong length",
    0x6985: "conditions of use not satisfied",
    0x6A81: "function not supported (card blocked)",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A86: "incorrect P1 P2",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}

MAX_GET_RESPONSE = 64  # 64 x 256 bytes is far above any EMV response; more means a looping card


class CardTransport(Protocol):
    """Moves one APDU to the card and returns (response data, status word)."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send a command APDU; return the data and SW1SW2 as one int."""
        ...


def describe_sw(sw: int) -> str:
    """Describe a status word in words."""
    if sw >> 8 == 0x61:
        return f"{sw & 0xFF or 256} more bytes available"
    if sw >> 8 == 0x6C:
        return f"wrong Le, card expects {sw & 0xFF or 256}"
    return SW_MEANINGS.get(sw, "unknown status")


def select(name: bytes, *, next_occurrence: bool = False) -> bytes:
    """SELECT by DF name / AID, first or next occurrence, Le=00 (EMV Book 1 §11.3)."""
    if not 1 <= len(name) <= 16:
        raise ProtocolError("a DF name is 1 to 16 bytes")
    return bytes([0x00, 0xA4, 0x04, 0x02 if next_occurrence else 0x00, len(name)]) + name + b"\x00"


def read_record(record: int, sfi: int) -> bytes:
    """READ RECORD `record` of short file `sfi`, Le=00 (EMV Book 3 §6.5.11)."""
    if not 1 <= record <= 255 or not 1 <= sfi <= 30:
        raise ProtocolError(f"READ RECORD {record} of SFI {sfi} is out of range")
    return bytes([0x00, 0xB2, record, (sfi << 3) | 0x04, 0x00])


def get_processing_options(pdol_values: bytes) -> bytes:
    """GET PROCESSING OPTIONS with command template 83 (EMV Book 3 §6.5.8)."""
    body = bytes([0x83, len(pdol_values)]) + pdol_values
    return bytes([0x80, 0xA8, 0x00, 0x00, len(body)]) + body + b"\x00"


def get_response(length: int) -> bytes:
    """GET RESPONSE for `length` bytes (T=0, ISO 7816-4 §7.1)."""
    return bytes([0x00, 0xC0, 0x00, 0x00, length & 0xFF])


def _with_le(apdu: bytes, le: int) -> bytes:
    # Case 2 (4 bytes + Le) and case 4 (header + Lc + data + Le): replace Le; case 1/3: append it.
    if len(apdu) == 5 or (len(apdu) > 5 and len(apdu) == 5 + apdu[4] + 1):
        return apdu[:-1] + bytes([le])
    return apdu + bytes([le])


def exchange(card: CardTransport, apdu: bytes, context: str = "command") -> tuple[bytes, int]:
    """Send an APDU, resolving 6Cxx (resend with Le) and 61xx (GET RESPONSE chaining).

    Returns (data, sw) of the final answer; status words are left to the caller to judge.
    """
    data, sw = card.transmit(apdu)
    if sw >> 8 == 0x6C:
        data, sw = card.transmit(_with_le(apdu, sw & 0xFF))
    out = bytearray(data)
    for _ in range(MAX_GET_RESPONSE):
        if sw >> 8 != 0x61:
            break
        more, sw = card.transmit(get_response(sw & 0xFF))
        out += more  # every byte of each chunk is data: the SW came separately
    else:
        raise ProtocolError(f"{context}: card kept answering 61xx")
    log.debug("%s -> %04X (%d bytes)", context, sw, len(out))
    return bytes(out), sw


def expect_ok(card: CardTransport, apdu: bytes, context: str) -> bytes:
    """Exchange an APDU and return its data, raising StatusWordError unless 9000."""
    data, sw = exchange(card, apdu, context)
    if sw != 0x9000:
        raise StatusWordError(sw, context)
    return data
