"""SAM_V frame codec: build and parse frames, SW3 status codes, a resyncing receive state machine.

Frame (docs/protocols.md#sam_v-framing, sources S2/S3/S4/S5):
    AA AA AA 96 69 | LEN_H LEN_L | body | CHK
LEN counts the bytes after the length field, checksum included; CHK is the XOR of every byte
from LEN_H up to the byte before CHK. Host frames carry CMD PARA [DATA]; reader frames carry
SW1 SW2 SW3 [DATA].
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from drivers.errors import ProtocolError

__all__ = [
    "CMD_FIND",
    "CMD_READ_ADDRESS",
    "CMD_READ_FP",
    "CMD_READ_TEXT",
    "CMD_SAM_ID",
    "CMD_SAM_RESET",
    "CMD_SAM_STATUS",
    "CMD_SELECT",
    "COMMAND_NAMES",
    "MAX_LEN",
    "PREAMBLE",
    "SW3_FIND_OK",
    "SW3_OK",
    "SW3_TEXTS",
    "ChecksumError",
    "Command",
    "FrameError",
    "FrameReceiver",
    "ReadPayload",
    "Response",
    "SamStatusError",
    "build_command",
    "build_response",
    "checksum",
    "parse_command",
    "parse_read_payload",
    "parse_response",
    "split_frame",
]

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
# Largest frame a reader sends is a 30 10 answer with 1024 fingerprint bytes (LEN 0x090A);
# anything far beyond that is a corrupt length, not a frame to wait for.
MAX_LEN = 0x1000

# (CMD, PARA) pairs — docs/protocols.md#sam_v-commands (S3 enum, S4 table).
CMD_SAM_RESET = (0x10, 0xFF)
CMD_SAM_STATUS = (0x11, 0xFF)
CMD_SAM_ID = (0x12, 0xFF)
CMD_FIND = (0x20, 0x01)
CMD_SELECT = (0x20, 0x02)
CMD_READ_TEXT = (0x30, 0x01)
CMD_READ_ADDRESS = (0x30, 0x03)
CMD_READ_FP = (0x30, 0x10)

COMMAND_NAMES: dict[tuple[int, int], str] = {
    CMD_SAM_RESET: "reset SAM",
    CMD_SAM_STATUS: "SAM status",
    CMD_SAM_ID: "read SAM id",
    CMD_FIND: "find card",
    CMD_SELECT: "select card",
    CMD_READ_TEXT: "read text and photo",
    CMD_READ_ADDRESS: "read appended address",
    (0x30, 0x05): "read card MID",
    CMD_READ_FP: "read text, photo and fingerprint",
    (0x60, 0x00): "set UART 115200",
    (0x60, 0x01): "set UART 57600",
    (0x60, 0x02): "set UART 38400",
    (0x60, 0x03): "set UART 19200",
    (0x60, 0x04): "set UART 9600",
}

SW3_OK = 0x90
SW3_FIND_OK = 0x9F
# docs/protocols.md#sam_v-status-codes (S3, S4, S5 agree; FF from S3 only).
SW3_TEXTS: dict[int, str] = {
    0x90: "success",
    0x9F: "find card success",
    0x10: "checksum error in host frame",
    0x11: "length error in host frame",
    0x21: "command error",
    0x23: "privilege violation",
    0x24: "unrecognised error",
    0x31: "card failed to authenticate SAM",
    0x32: "SAM failed to authenticate card",
    0x33: "information verification error",
    0x40: "unrecognised card type",
    0x41: "read card failed",
    0x47: "get random failed",
    0x60: "SAM self-test failed",
    0x66: "SAM not authorised",
    0x80: "find card failed (no card)",
    0x81: "select card failed",
    0x91: "no content for this item on the card",
    0xFF: "communication fault",
}


class FrameError(ProtocolError):
    """Bytes that are not a well-formed SAM_V frame."""


class ChecksumError(FrameError):
    """A frame whose XOR checksum does not match."""


class SamStatusError(ProtocolError):
    """The reader answered with a non-success SW3 status."""

    def __init__(self, sw3: int, sw1: int = 0, sw2: int = 0, command: str = "") -> None:
        self.sw3 = sw3
        self.sw1 = sw1
        self.sw2 = sw2
        text = SW3_TEXTS.get(sw3, "unknown status")
        where = f"{command}: " if command else ""
        super().__init__(f"{where}reader status {sw3:02X} ({text})")

    @property
    def no_card(self) -> bool:
        """True when the status only says that no card is on the reader."""
        return self.sw3 == 0x80

    @property
    def sam_fault(self) -> bool:
        """True when the SAM module itself needs a reset (self-test, authorisation, comms)."""
        return self.sw3 in (0x60, 0x66, 0xFF, 0x24)


def checksum(body: bytes) -> int:
    """XOR of the bytes from LEN_H to the byte before CHK."""
    value = 0
    for byte in body:
        value ^= byte
    return value


def _frame(body: bytes) -> bytes:
    length = len(body) + 1
    head = length.to_bytes(2, "big") + body
    return PREAMBLE + head + bytes([checksum(head)])


def build_command(cmd: tuple[int, int], data: bytes = b"") -> bytes:
    """Build a host → reader frame for (CMD, PARA) with optional data."""
    return _frame(bytes(cmd) + data)


def build_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """Build a reader → host frame (used by the simulator and tests)."""
    return _frame(bytes([sw1, sw2, sw3]) + data)


def split_frame(frame: bytes) -> bytes:
    """Check preamble, length and checksum of one whole frame; return the body (after LEN, before CHK)."""
    if len(frame) < 8:
        raise FrameError(f"frame too short ({len(frame)} bytes)")
    if frame[:5] != PREAMBLE:
        raise FrameError("frame does not start with the AA AA AA 96 69 preamble")
    length = int.from_bytes(frame[5:7], "big")
    if length < 2:
        raise FrameError(f"length field {length} is too small")
    if len(frame) < length + 7:
        raise FrameError(f"frame truncated: length field says {length + 7} bytes, got {len(frame)}")
    if len(frame) > length + 7:
        raise FrameError(
            f"{len(frame) - length - 7} bytes after the end of the frame (length {length + 7})"
        )
    want = checksum(frame[5:-1])
    if frame[-1] != want:
        raise ChecksumError(f"checksum {frame[-1]:02X} does not match computed {want:02X}")
    return frame[7:-1]


@dataclass(frozen=True)
class Command:
    """A host → reader frame."""

    cmd: int
    para: int
    data: bytes = b""

    @property
    def name(self) -> str:
        """Human name of the command, or 'unknown'."""
        return COMMAND_NAMES.get((self.cmd, self.para), "unknown")


@dataclass(frozen=True)
class Response:
    """A reader → host frame."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = field(default=b"", repr=False)  # may carry personal data: keep it out of logs

    @property
    def ok(self) -> bool:
        """True for SW3 90 or 9F."""
        return self.sw3 in (SW3_OK, SW3_FIND_OK)

    def check(self, command: str = "", expect: int = SW3_OK) -> Response:
        """Return self if SW3 is `expect`, else raise SamStatusError."""
        if self.sw3 != expect:
            raise SamStatusError(self.sw3, self.sw1, self.sw2, command)
        return self


def parse_command(frame: bytes) -> Command:
    """Parse a host → reader frame."""
    body = split_frame(frame)
    return Command(body[0], body[1], bytes(body[2:]))


def parse_response(frame: bytes) -> Response:
    """Parse a reader → host frame."""
    body = split_frame(frame)
    if len(body) < 3:
        raise FrameError(f"response has {len(body)} status bytes, needs SW1 SW2 SW3")
    return Response(body[0], body[1], body[2], bytes(body[3:]))


@dataclass(frozen=True)
class ReadPayload:
    """Data of a 30 01 / 30 10 answer: text block, photo and fingerprint (opaque, never logged)."""

    text: bytes
    photo: bytes
    fingerprint: bytes | None

    def __repr__(self) -> str:
        # Never let personal data reach a log through repr().
        fp = "none" if self.fingerprint is None else f"{len(self.fingerprint)} bytes"
        return f"ReadPayload(text={len(self.text)} bytes, photo={len(self.photo)} bytes, fingerprint={fp})"


def parse_read_payload(data: bytes, with_fingerprint: bool) -> ReadPayload:
    """Split the data of a read answer using the lengths in its header (docs/protocols.md#sam_v-answers)."""
    head = 6 if with_fingerprint else 4
    if len(data) < head:
        raise FrameError(f"read answer has {len(data)} data bytes, header needs {head}")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    fp_len = int.from_bytes(data[4:6], "big") if with_fingerprint else 0
    if head + text_len + photo_len + fp_len != len(data):
        raise FrameError(
            f"read answer lengths (text {text_len}, photo {photo_len}, fingerprint {fp_len}) "
            f"do not add up to its {len(data) - head} data bytes"
        )
    text = data[head : head + text_len]
    photo = data[head + text_len : head + text_len + photo_len]
    fp = data[head + text_len + photo_len :] if with_fingerprint else None
    return ReadPayload(bytes(text), bytes(photo), None if fp is None else bytes(fp))


class FrameReceiver:
    """Receive state machine: accumulate bytes, resync on the preamble, emit whole frames.

    Stray bytes before a preamble and garbage between frames are dropped (docs/protocols.md#sam_v-receiving-robustly);
    a frame with a bad checksum is dropped and counted, and the search resumes one byte later.
    """

    def __init__(self, max_len: int = MAX_LEN) -> None:
        self._buf = bytearray()
        self.max_len = max_len
        self.dropped_bytes = 0
        self.bad_frames = 0

    def reset(self) -> None:
        """Forget buffered bytes."""
        self._buf.clear()

    @property
    def pending(self) -> int:
        """Number of bytes buffered but not yet part of a frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every complete, checksum-valid frame found so far."""
        self._buf += data
        return list(self._frames())

    def _frames(self) -> Iterator[bytes]:
        buf = self._buf
        while True:
            start = buf.find(PREAMBLE)
            if start < 0:
                # Keep a possible partial preamble at the tail.
                keep = 0
                for n in range(min(4, len(buf)), 0, -1):
                    if PREAMBLE.startswith(bytes(buf[-n:])):
                        keep = n
                        break
                self.dropped_bytes += len(buf) - keep
                del buf[: len(buf) - keep]
                return
            if start:
                self.dropped_bytes += start
                del buf[:start]
            if len(buf) < 7:
                return
            length = int.from_bytes(buf[5:7], "big")
            if length < 2 or length > self.max_len:
                self.bad_frames += 1
                self.dropped_bytes += 1
                del buf[:1]
                continue
            if len(buf) < length + 7:
                return
            frame = bytes(buf[: length + 7])
            if checksum(frame[5:-1]) != frame[-1]:
                self.bad_frames += 1
                self.dropped_bytes += 1
                del buf[:1]
                continue
            del buf[: length + 7]
            yield frame
