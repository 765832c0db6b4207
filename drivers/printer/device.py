"""Ticket printer device: one transport interface (serial URL, python-escpos USB or network),
DLE EOT status before and after each ticket and on an interval, and events on every state change."""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from branch_common.backoff import Backoff
from drivers.errors import DeviceError, DeviceTimeout, TransportError
from drivers.events import DeviceEvent, DeviceProblem, DeviceRecovered, EventKind, Problem
from drivers.printer.status import (
    PrinterState,
    PrinterStatus,
    StatusError,
    combine_status,
    printer_state,
    status_request,
)
from drivers.printer.ticket import TicketLayout, ticket_bytes
from drivers.serial_link import SERIAL_ERRORS, open_serial
from drivers.watcher import DeviceWatcher, Sink

__all__ = [
    "STATE_EVENTS",
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


# Printer state -> the event that announces it and the problem it carries.
STATE_EVENTS: dict[PrinterState, tuple[EventKind, Problem]] = {
    PrinterState.paper_low: (EventKind.paper_low, Problem.paper_low),
    PrinterState.paper_out: (EventKind.paper_out, Problem.paper_out),
    PrinterState.cover_open: (EventKind.cover_open, Problem.cover_open),
    PrinterState.offline: (EventKind.printer_offline, Problem.offline),
    PrinterState.no_answer: (EventKind.printer_offline, Problem.timeout),
    PrinterState.bad_status: (EventKind.device_fault, Problem.protocol),
    PrinterState.error: (EventKind.device_fault, Problem.printer_error),
}


class Printer(DeviceWatcher):
    """An ESC/POS ticket printer; `print_ticket` is thread-safe and never raises for device faults.

    `start()` polls the status (DLE EOT) every `interval` seconds between tickets, so a paper
    roll running out is reported before the next customer's ticket fails.
    """

    thread_name = "printer"

    def __init__(
        self,
        url: str | None = None,
        *,
        transport: PrinterTransport | None = None,
        baudrate: int = 115200,
        status_timeout: float = 0.5,
        interval: float = 5.0,
        station: str = "",
        device: str = "printer",
        on_event: Sink | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if url is None and transport is None:
            raise ValueError("give a URL or a transport")
        super().__init__(
            on_event, station=station, device=device, interval=interval, backoff=backoff
        )
        self.url = url
        self.baudrate = baudrate
        self.status_timeout = status_timeout
        self.printer_state = PrinterState.ready
        self.status: PrinterStatus | None = None  # from the last round; None when unknown
        self._transport = transport
        self._reason = ""

    # -- link -------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Tell whether the link to the printer is open."""
        return self._transport is not None

    def open_device(self) -> None:
        """Open the link named by the URL."""
        if self.url is None:
            raise TransportError("printer transport is closed")
        self._transport = open_transport(self.url, self.baudrate)

    def close_device(self) -> None:
        """Close the link; the next round reopens it."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def close(self) -> None:
        """Close the link; the next call reopens it."""
        with self._lock:
            self.close_device()

    def _link(self) -> PrinterTransport:
        if self._transport is None:
            raise TransportError("printer link is not open")
        return self._transport

    # -- status -----------------------------------------------------------------------------
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

    def step(self) -> None:
        """Read the status and report a change of state (a lost link raises TransportError)."""
        try:
            self.status = self.read_status()
        except StatusError as exc:
            self._enter(PrinterState.bad_status, str(exc))
            return
        except DeviceTimeout as exc:
            self._enter(PrinterState.no_answer, str(exc))
            return
        problems = [p for p in self.status.problems if p != "paper_near_end"]
        self._enter(printer_state(self.status), ", ".join(problems))

    def fault(self, exc: DeviceError) -> None:
        """Remember why the link failed, then report it once."""
        self._reason = str(exc)
        super().fault(exc)

    def _enter(self, state: PrinterState, reason: str) -> None:
        self._reason = reason
        if state is self.printer_state:
            return
        self.printer_state = state
        if state is PrinterState.ready:
            self.emit(EventKind.printer_ok, DeviceRecovered())
            return
        kind, problem = STATE_EVENTS[state]
        self.emit(kind, DeviceProblem(problem, reason))

    def _observe(self) -> PrinterStatus | None:
        """One status round now, reopening the link at once (a customer is waiting)."""
        self.status = None
        self._retry_at = 0.0
        self._one_round()
        return self.status

    # -- printing ---------------------------------------------------------------------------
    def print_ticket(self, layout: TicketLayout) -> PrintResult:
        """Print one ticket; printed only if the printer was healthy before and after."""
        data = ticket_bytes(layout)
        with self._lock:
            events: list[DeviceEvent] = []
            self._round = events
            try:
                return self._print(data, events)
            finally:
                self._round = None

    def _print(self, data: bytes, events: list[DeviceEvent]) -> PrintResult:
        before = self._observe()
        if before is None or not before.healthy:
            return PrintResult(False, before, None, f"not ready: {self._reason}", events)
        try:
            self._link().write(data)
        except TransportError as exc:
            self.fault(exc)
            self.close_device()
            return PrintResult(False, before, None, f"link lost: {exc}", events)
        after = self._observe()
        if after is None or not after.healthy:
            return PrintResult(
                False, before, after, f"fault after printing: {self._reason}", events
            )
        return PrintResult(True, before, after, "", events)
