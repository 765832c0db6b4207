"""Stripe readers: keyboard-wedge line input and MSR206-family serial readers (ESC r).

Codec (pure): `build_read_command`, `parse_msr_response`, `classify_swipe`.
Transports: a file descriptor (pty, hidraw-to-text bridge, stdin) or a pyserial URL.
Device: `MagstripeWatcher`, a `DeviceWatcher` emitting card_read / passbook_read / read_failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from branch_common.backoff import Backoff
from branch_common.identifiers import luhn_valid
from drivers.errors import (
    DeviceError,
    DeviceTimeout,
    ProtocolError,
    SwipeError,
    TrackError,
    TransportError,
)
from drivers.events import CardRead, EventKind, FailReason, PassbookRead, ReadFailure
from drivers.magstripe.passbook import DEFAULT_RULE, PassbookRule, parse_passbook
from drivers.magstripe.tracks import Swipe, parse_swipe
from drivers.watcher import DeviceWatcher, Sink

__all__ = [
    "MSR_STATUS",
    "LineSource",
    "MagstripeWatcher",
    "MsrResponse",
    "SerialMsrReader",
    "WedgeReader",
    "build_read_command",
    "classify_swipe",
    "find_msr_frame",
    "parse_msr_response",
    "stripe_card_read",
    "swipe_failure",
]

log = logging.getLogger(__name__)

ESC, FS = 0x1B, 0x1C
# MSR206/MSR605 status byte after FS ESC (libmsr msr206.h).
MSR_STATUS: dict[int, str] = {
    0x30: "ok",
    0x31: "read/write error",
    0x32: "command format error",
    0x34: "invalid command",
    0x39: "invalid card swipe in write mode",
}
MAX_FRAME = 512


def build_read_command() -> bytes:
    """ESC r: read the ISO tracks of the next swipe."""
    return bytes([ESC, ord("r")])


def build_reset_command() -> bytes:
    """ESC a: reset the reader (cancels a pending read)."""
    return bytes([ESC, ord("a")])


@dataclass(frozen=True)
class MsrResponse:
    """A decoded ESC r answer: raw track texts (empty when absent) and the status byte."""

    tracks: dict[int, str] = field(repr=False)
    status: int

    def as_wedge_line(self) -> str:
        """Render the tracks as a wedge reader would type them."""
        parts = []
        for n, start in ((1, "%"), (2, ";"), (3, "+")):
            body = self.tracks.get(n, "").strip("%;+?")
            if body:
                parts.append(f"{start}{body}?")
        return "".join(parts)


def find_msr_frame(buf: bytes) -> int | None:
    """Return the length of the first complete response in `buf` (ends FS ESC status), or None."""
    end = buf.find(bytes([FS, ESC]))
    if end < 0 or end + 2 >= len(buf):
        return None
    return end + 3


def parse_msr_response(frame: bytes) -> MsrResponse:
    """Parse `ESC s ESC 1 t1 ESC 2 t2 ESC 3 t3 ? FS ESC status` (MSR206 ISO read)."""
    frame = bytes(frame)
    start = frame.find(bytes([ESC, ord("s")]))
    end = frame.rfind(bytes([FS, ESC]))
    if start < 0 or end < start or end + 2 >= len(frame):
        raise ProtocolError("MSR response without ESC s ... FS ESC status")
    status = frame[end + 2]
    block = frame[start + 2 : end]
    if block.endswith(b"?"):
        block = block[:-1]
    tracks: dict[int, str] = {}
    pieces = block.split(bytes([ESC]))
    if pieces[0]:
        raise ProtocolError("MSR response: data before the first track marker")
    for piece in pieces[1:]:
        if not piece or piece[0] not in b"123":
            raise ProtocolError("MSR response: bad track marker")
        n = piece[0] - 0x30
        if n in tracks:
            raise ProtocolError(f"MSR response: track {n} twice")
        text = piece[1:]
        if any(b < 0x20 or b > 0x7E for b in text):
            raise ProtocolError(f"MSR response: non-printable byte in track {n}")
        tracks[n] = text.decode("ascii")
    return MsrResponse(tracks, status)


def classify_swipe(text: str, rule: PassbookRule = DEFAULT_RULE) -> Swipe | PassbookRead:
    """Tell a bank card swipe (Luhn-valid PAN with expiry and service code) from a passbook."""
    try:
        swipe = parse_swipe(text)
    except TrackError:
        return parse_passbook(text, rule)
    t2 = swipe.tracks.get(2) or swipe.tracks.get(1)
    if t2 is not None and t2.service_code and t2.expiry and luhn_valid(t2.account):
        return swipe
    return parse_passbook(text, rule)


class LineSource(Protocol):
    """Anything that yields swipe lines: a wedge stream or a serial MSR reader."""

    def read_line(self, timeout: float) -> str | None:
        """Return the next swipe as text, or None when nothing arrived in `timeout`."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


class WedgeReader:
    """A keyboard-wedge reader seen as a text stream: one swipe per line (pty, pipe, tty)."""

    def __init__(self, path: str | None = None, fd: int | None = None) -> None:
        if fd is None:
            if path is None:
                raise ValueError("give a path or a file descriptor")
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
            except OSError as exc:
                raise TransportError(f"cannot open wedge reader {path}: {exc.strerror}") from exc
        self.fd = fd
        self._buf = bytearray()

    def read_line(self, timeout: float) -> str | None:
        """Return the next complete line, None on timeout; TransportError when the line closes."""
        deadline = time.monotonic() + timeout
        while True:
            for sep in (b"\n", b"\r"):
                i = self._buf.find(sep)
                if i >= 0:
                    line = bytes(self._buf[:i])
                    del self._buf[: i + 1]
                    if line.strip():
                        return line.decode("utf-8", errors="replace").strip()
            if len(self._buf) > MAX_FRAME:
                self._buf.clear()
                raise ProtocolError("wedge input line too long")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                ready, _, _ = select.select([self.fd], [], [], left)
                if not ready:
                    return None
                chunk = os.read(self.fd, 4096)
            except OSError as exc:  # EIO when the other end of a pty closes
                raise TransportError(f"wedge reader closed: {exc.strerror}") from exc
            if not chunk:
                raise TransportError("wedge reader closed (end of input)")
            self._buf += chunk

    def close(self) -> None:
        """Close the stream."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


class SerialMsrReader:
    """An MSR206-family reader on a serial port (device path, pty, or pyserial URL)."""

    def __init__(self, url: str, baudrate: int = 9600) -> None:
        try:
            import serial
        except ImportError as exc:
            raise TransportError("pyserial is not installed") from exc
        try:
            self.port: Any = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"cannot open serial reader {url}: {exc}") from exc
        self._armed = False
        self._buf = bytearray()

    def _io(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # pyserial raises SerialException/OSError on a lost line
            raise TransportError(f"serial reader: {exc}") from exc

    def read_response(self, timeout: float) -> MsrResponse | None:
        """Arm an ISO read (ESC r) if needed and wait for the swipe's response."""
        if not self._armed:
            self._io(lambda: self.port.write(build_read_command()))
            self._armed = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self._io(lambda: self.port.read(256))
            if chunk:
                self._buf += chunk
                n = find_msr_frame(bytes(self._buf))
                if n is not None:
                    frame = bytes(self._buf[:n])
                    del self._buf[:n]
                    self._armed = False
                    return parse_msr_response(frame)
                if len(self._buf) > MAX_FRAME:
                    self._buf.clear()
                    self._armed = False
                    raise ProtocolError("serial reader sent an over-long response")
        return None

    def read_line(self, timeout: float) -> str | None:
        """Return the next swipe as wedge-style text, None on timeout; SwipeError on a bad swipe."""
        resp = self.read_response(timeout)
        if resp is None:
            return None
        if resp.status != 0x30:
            meaning = MSR_STATUS.get(resp.status, "unknown status")
            raise SwipeError(resp.status, f"reader status {resp.status:02X}: {meaning}")
        return resp.as_wedge_line()

    def read_swipe(self, timeout: float) -> Swipe:
        """Wait for one swipe and parse it; DeviceTimeout when none arrives."""
        line = self.read_line(timeout)
        if line is None:
            raise DeviceTimeout(f"no swipe within {timeout:g} s")
        return parse_swipe(line)

    def close(self) -> None:
        """Cancel a pending read and close the port."""
        with contextlib.suppress(Exception):
            self.port.write(build_reset_command())
        with contextlib.suppress(Exception):
            self.port.close()


class MagstripeWatcher(DeviceWatcher):
    """Read swipes from a line source in a thread; emit card_read, passbook_read, read_failed.

    `open_source` is called again after a transport failure (pty closed, cable pulled), after
    a back-off starting at `retry` seconds, until the device is back.
    """

    thread_name = "magstripe"

    def __init__(
        self,
        open_source: Callable[[], LineSource],
        on_event: Sink,
        *,
        station: str = "kiosk",
        device: str = "magstripe",
        rule: PassbookRule = DEFAULT_RULE,
        retry: float = 0.2,
        wait: float = 0.2,
    ) -> None:
        super().__init__(
            on_event,
            station=station,
            device=device,
            interval=0.0,  # `step` itself waits up to `wait` seconds for a swipe
            backoff=Backoff(first=retry, cap=max(retry, 5.0)),
        )
        self.open_source = open_source
        self.rule = rule
        self.wait = wait
        self._source: LineSource | None = None

    @property
    def is_open(self) -> bool:
        """Tell whether the reader is open."""
        return self._source is not None

    def open_device(self) -> None:
        """Open the line source."""
        self._source = self.open_source()

    def close_device(self) -> None:
        """Close the line source."""
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def step(self) -> None:
        """Wait for one swipe and report it."""
        assert self._source is not None  # noqa: S101 (opened by the base before `step`)
        try:
            line = self._source.read_line(self.wait)
            if line is None:
                return
            read = classify_swipe(line, self.rule)
        except TransportError:
            raise
        except DeviceError as exc:
            self.emit(EventKind.read_failed, swipe_failure(self.device, exc))
            return
        if isinstance(read, PassbookRead):
            self.emit(EventKind.passbook_read, read)
        else:
            self.emit(EventKind.card_read, stripe_card_read(read, self.device))


def swipe_failure(device: str, exc: DeviceError) -> ReadFailure:
    """The read_failed payload for a swipe that could not be read."""
    if isinstance(exc, SwipeError):
        return ReadFailure(device, FailReason.bad_swipe, str(exc), f"{exc.status:02X}")
    if isinstance(exc, DeviceTimeout):
        return ReadFailure(device, FailReason.timeout, str(exc))
    return ReadFailure(device, FailReason.bad_swipe, str(exc))


def stripe_card_read(swipe: Swipe, reader: str = "") -> CardRead:
    """The card_read payload for a bank card's stripe (track 2, else track 1)."""
    main = swipe.tracks.get(2) or swipe.tracks.get(1) or swipe.tracks[min(swipe.tracks)]
    name = swipe.tracks[1].name if 1 in swipe.tracks else None
    return CardRead(
        pan=main.account,
        expiry=main.expiry,
        name=name,
        service_code=main.service_code,
        source="stripe",
        reader=reader,
    )
