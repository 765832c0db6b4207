"""Real-time status of ESC/POS printers: DLE EOT n replies decoded into flags and a health verdict.

docs/protocols.md#escpos-real-time-status (P1 `_check_valid_response`, P2 bit labels, P3 example): a reply is
one byte with the fixed pattern 0xx1xx10 (bits 0 and 7 clear, bits 1 and 4 set).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass

from drivers.errors import ProtocolError

__all__ = [
    "DLE_EOT",
    "STATE_LOOKUP",
    "PrinterState",
    "PrinterStatus",
    "StatusError",
    "combine_status",
    "decode_status",
    "is_valid_status_byte",
    "printer_state",
    "status_request",
]

DLE_EOT = b"\x10\x04"

# Bit labels per function n (P2). Paper sensor bits come in pairs (P1 masks 0x0C / 0x60).
_FLAGS: dict[int, tuple[tuple[str, int], ...]] = {
    1: (
        ("drawer_pin3_high", 0x04),
        ("offline", 0x08),
        ("waiting_online_recovery", 0x20),
        ("feed_button_pressed", 0x40),
    ),
    2: (
        ("cover_open", 0x04),
        ("paper_fed_by_button", 0x08),
        ("paper_end_stop", 0x20),
        ("error", 0x40),
    ),
    3: (
        ("recoverable_error", 0x04),
        ("autocutter_error", 0x08),
        ("unrecoverable_error", 0x20),
        ("auto_recoverable_error", 0x40),
    ),
    4: (("paper_near_end", 0x0C), ("paper_end", 0x60)),
}


class StatusError(ProtocolError):
    """A DLE EOT reply that is not a single valid status byte."""


def status_request(n: int) -> bytes:
    """The DLE EOT n command."""
    if n not in _FLAGS:
        raise ValueError(f"DLE EOT function {n} is not 1, 2, 3 or 4")
    return DLE_EOT + bytes([n])


def is_valid_status_byte(b: int) -> bool:
    """True for the fixed pattern 0xx1xx10 (P1 `_check_valid_response`)."""
    return (b & 0x81) == 0 and (b & 0x12) == 0x12


def decode_status(n: int, reply: bytes) -> dict[str, bool]:
    """Decode the reply to DLE EOT n into named flags."""
    if n not in _FLAGS:
        raise StatusError(f"DLE EOT function {n} is not 1, 2, 3 or 4")
    if len(reply) != 1:
        raise StatusError(f"DLE EOT {n} reply is {len(reply)} bytes, expected exactly 1")
    b = reply[0]
    if not is_valid_status_byte(b):
        raise StatusError(f"DLE EOT {n} reply {b:02X} does not match the 0xx1xx10 pattern")
    return {name: (b & mask) == mask for name, mask in _FLAGS[n]}


@dataclass(frozen=True)
class PrinterStatus:
    """Printer state from DLE EOT 1, 2 and 4."""

    offline: bool = False
    cover_open: bool = False
    paper_end_stop: bool = False
    error: bool = False
    paper_near_end: bool = False
    paper_end: bool = False

    @property
    def healthy(self) -> bool:
        """True when the printer can print (paper near end is only a warning)."""
        return not (
            self.offline or self.cover_open or self.paper_end_stop or self.error or self.paper_end
        )

    @property
    def problems(self) -> list[str]:
        """Names of the flags that are set."""
        return [name for name, value in asdict(self).items() if value]

    def to_json(self) -> dict[str, bool]:
        """Flags plus the health verdict."""
        out = asdict(self)
        out["healthy"] = self.healthy
        return out


def combine_status(r1: bytes, r2: bytes, r4: bytes) -> PrinterStatus:
    """Combine the replies to DLE EOT 1, 2 and 4."""
    s1, s2, s4 = decode_status(1, r1), decode_status(2, r2), decode_status(4, r4)
    return PrinterStatus(
        offline=s1["offline"],
        cover_open=s2["cover_open"],
        paper_end_stop=s2["paper_end_stop"],
        error=s2["error"],
        paper_near_end=s4["paper_near_end"],
        paper_end=s4["paper_end"],
    )


class PrinterState(enum.StrEnum):
    """What the staff need to know about a printer, one state at a time."""

    ready = "ready"
    paper_low = "paper_low"  # still prints
    paper_out = "paper_out"
    cover_open = "cover_open"
    offline = "offline"
    no_answer = "no_answer"  # the link is up but status queries go unanswered
    bad_status = "bad_status"  # replies that are not status bytes
    error = "error"


# Status flag -> printer state, most important first: the first flag that is set wins. A
# printer that stops for paper or an open cover also sets "offline", so offline comes late.
STATE_LOOKUP: tuple[tuple[str, PrinterState], ...] = (
    ("error", PrinterState.error),
    ("cover_open", PrinterState.cover_open),
    ("paper_end", PrinterState.paper_out),
    ("paper_end_stop", PrinterState.paper_out),
    ("offline", PrinterState.offline),
    ("paper_near_end", PrinterState.paper_low),
)


def printer_state(status: PrinterStatus) -> PrinterState:
    """Translate decoded status flags into the one state the staff see."""
    flags = status.to_json()
    for flag, state in STATE_LOOKUP:
        if flags[flag]:
            return state
    return PrinterState.ready
