"""Ticket printer device: one transport interface (serial URL, python-escpos USB or network),
DLE EOT status before and after each ticket, and events on every status change."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from drivers.errors import DeviceError, DeviceTimeout, TransportError
from drivers.events import DeviceEvent, EventKind
from drivers.printer.status import PrinterStatus, StatusError, combine_status, status_request
from drivers.printer.ticket import TicketLayout, ticket_bytes
from drivers.serial_link import SERIAL_ERRORS, open_serial

__all__ = [
    "EscposTransport",
    "PrintResult",
    "Printer",
    "PrinterFault",
    "PrinterTransport",
    "SerialTransport",
    "open_transport",
]


class PrinterFault(DeviceError):
    """The printer is not in a state to print (offline, cover open, out of paper, error)."""


class PrinterTransport(Protocol):
    """Byte pipe to a printer."""

    def write(self, data: bytes) -> None:
        """Send bytes."""

    def read(self, size: int, timeout: float) -> bytes:
        """Read up to `size` bytes, b"" after `timeout` seconds."""

    def discard_input(self) -> None:
        """Drop unread bytes (stale status replies)."""

    def close(self) -> None:
        """Release the link."""


class SerialTransport:
    """A printer on a serial URL (device path, `serial:///dev/ttyS0?baud=9600`, `socket://`, pty)."""

    def __init__(self, url: str, baudrate: int = 115200) -> None:
        self.url = url
        self._port = open_serial(url, baudrate, timeout=0.02)

    def write(self, data: bytes) -> None:
        """Send bytes."""
        try:
            self._port.write(data)
            self._port.flush()
        except SERIAL_ERRORS as exc:
            raise TransportError(f"{self.url}: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        """Read up to `size` bytes within `timeout`."""
        deadline = time.monotonic() + timeout
        out = b""
        try:
            while len(out) < size and time.monotonic() < deadline:
                out += self._port.read(size - len(out))
        except SERIAL_ERRORS as exc:
            raise TransportError(f"{self.url}: {exc}") from exc
        return out

    def discard_input(self) -> None:
        """Drop unread bytes."""
        try:
            self._port.reset_input_buffer()
        except SERIAL_ERRORS as exc:
            raise TransportError(f"{self.url}: {exc}") from exc

    def close(self) -> None:
        """Close the port."""
        with contextlib.suppress(*SERIAL_ERRORS):
            self._port.close()


class EscposTransport:
    """A python-escpos USB or network printer object used as a byte pipe."""

    def __init__(self, printer: Any, name: str) -> None:
        self.name = name
        self._printer = printer
        try:
            printer.open()
        except Exception as exc:
            raise TransportError(f"cannot open {name}: {exc}") from exc

    def write(self, data: bytes) -> None:
        """Send bytes."""
        try:
            self._printer._raw(data)
        except Exception as exc:
            raise TransportError(f"{self.name}: {exc}") from exc

    def read(self, size: int, timeout: float) -> bytes:
        """Read one reply (python-escpos reads up to 16 bytes)."""
        device = getattr(self._printer, "device", None)
        if isinstance(device, socket.socket):
            device.settimeout(timeout)
        try:
            data = bytes(self._printer._read())
        except TimeoutError:
            return b""
        except Exception as exc:
            if "timeout" in str(exc).lower():
                return b""
            raise TransportError(f"{self.name}: {exc}") from exc
        return data[:size]

    def discard_input(self) -> None:
        """Nothing is buffered on our side for these backends."""

    def close(self) -> None:
        """Close the python-escpos printer."""
        with contextlib.suppress(Exception):
            self._printer.close()


def open_transport(url: str, baudrate: int = 115200) -> PrinterTransport:
    """Open `usb://VID:PID`, `tcp://HOST[:PORT]` (python-escpos backends) or any serial URL."""
    parts = urlsplit(url)
    if parts.scheme == "usb":
        from escpos.printer import Usb

        try:
            vid, pid = (int(x, 16) for x in (parts.netloc or parts.path.strip("/")).split(":"))
        except ValueError as exc:
            raise TransportError(f"{url}: expected usb://VID:PID in hex") from exc
        return EscposTransport(Usb(vid, pid, timeout=2000), url)
    if parts.scheme == "tcp":
        from escpos.printer import Network

        return EscposTransport(Network(parts.hostname or "", parts.port or 9100, timeout=5), url)
    return SerialTransport(url, baudrate)


@dataclass(frozen=True)
class PrintResult:
    """Outcome of one ticket: printed only if the printer was healthy before and after."""

    printed: bool
    before: PrinterStatus | None
    after: PrinterStatus | None
    reason: str = ""
    events: list[DeviceEvent] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form for the command line."""
        return {
            "printed": self.printed,
            "reason": self.reason,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
            "events": [e.kind.value for e in self.events],
        }


# Problem flag -> event kind, in the order they are reported.
_CONDITIONS: tuple[tuple[str, EventKind], ...] = (
    ("no_response", EventKind.printer_offline),
    ("offline", EventKind.printer_offline),
    ("cover_open", EventKind.cover_open),
    ("paper_end", EventKind.paper_out),
    ("paper_end_stop", EventKind.paper_out),
    ("paper_near_end", EventKind.paper_low),
    ("error", EventKind.device_fault),
    ("bad_status", EventKind.device_fault),
    ("transport", EventKind.device_fault),
)


class Printer:
    """An ESC/POS ticket printer; `print_ticket` is thread-safe and never raises for device faults."""

    def __init__(
        self,
        url: str | None = None,
        *,
        transport: PrinterTransport | None = None,
        baudrate: int = 115200,
        status_timeout: float = 0.5,
        station: str = "",
        device: str = "printer",
        on_event: Callable[[DeviceEvent], None] | None = None,
    ) -> None:
        if url is None and transport is None:
            raise ValueError("give a URL or a transport")
        self.url = url
        self.baudrate = baudrate
        self.status_timeout = status_timeout
        self.station = station
        self.device = device
        self.on_event = on_event
        self._transport = transport
        self._lock = threading.Lock()
        self._conditions: set[str] = set()

    def close(self) -> None:
        """Close the link; the next call reopens it."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def _link(self) -> PrinterTransport:
        if self._transport is None:
            if self.url is None:
                raise TransportError("printer transport is closed")
            self._transport = open_transport(self.url, self.baudrate)
        return self._transport

    def _query(self, n: int) -> bytes:
        link = self._link()
        link.write(status_request(n))
        reply = link.read(1, self.status_timeout)
        if not reply:
            raise DeviceTimeout(
                f"printer did not answer DLE EOT {n} within {self.status_timeout:g} s"
            )
        return reply

    def read_status(self) -> PrinterStatus:
        """Query DLE EOT 1, 2 and 4 (raises DeviceError subclasses)."""
        self._link().discard_input()
        return combine_status(self._query(1), self._query(2), self._query(4))

    def _observe(self, events: list[DeviceEvent]) -> tuple[PrinterStatus | None, str]:
        """Read the status, update conditions and emit events for what changed."""
        status: PrinterStatus | None = None
        reason = ""
        try:
            status = self.read_status()
            now = set(status.problems)
        except StatusError as exc:
            now, reason = {"bad_status"}, str(exc)
        except DeviceTimeout as exc:
            now, reason = {"no_response"}, str(exc)
        except TransportError as exc:
            self._drop()
            now, reason = {"transport"}, str(exc)
        before = self._conditions
        if "transport" in before and "transport" not in now:
            self._emit(events, EventKind.device_recovered)
        fresh = {kind for name, kind in _CONDITIONS if name in now and name not in before}
        for name, kind in _CONDITIONS:
            if name in now and name not in before and kind in fresh:
                fresh.discard(kind)
                self._emit(events, kind, condition=name, message=reason)
        if before and not now:
            self._emit(events, EventKind.printer_ok)
        self._conditions = now
        if status is not None and not reason:
            reason = ", ".join(p for p in status.problems if p != "paper_near_end")
        return status, reason

    def _emit(self, events: list[DeviceEvent], kind: EventKind, **payload: Any) -> None:
        event = DeviceEvent(self.station, self.device, kind, payload)
        events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def poll(self) -> tuple[PrinterStatus | None, list[DeviceEvent]]:
        """Check the status between tickets (reopens a lost link); return it with new events."""
        events: list[DeviceEvent] = []
        with self._lock:
            status, _ = self._observe(events)
        return status, events

    def print_ticket(self, layout: TicketLayout) -> PrintResult:
        """Print one ticket; printed only if the printer was healthy before and after."""
        data = ticket_bytes(layout)
        events: list[DeviceEvent] = []
        with self._lock:
            before, reason = self._observe(events)
            if before is None or not before.healthy:
                return PrintResult(False, before, None, f"not ready: {reason}", events)
            try:
                self._link().write(data)
            except TransportError as exc:
                self._drop()
                self._conditions.add("transport")
                self._emit(events, EventKind.device_fault, condition="transport", message=str(exc))
                return PrintResult(False, before, None, f"link lost: {exc}", events)
            after, reason = self._observe(events)
            if after is None or not after.healthy:
                return PrintResult(False, before, after, f"fault after printing: {reason}", events)
            return PrintResult(True, before, after, "", events)
