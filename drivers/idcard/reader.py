"""Resident ID card reader over a SAM_V serial link: SAM check/reset, find → select → read, polling.

Timing (protocols.md "SAM_V" §2): poll find-card no faster than every 300 ms; after a read the
card is reported again only once it has been removed; after an error the card must be re-placed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.errors import DeviceError, DeviceTimeout, TransportError
from drivers.events import DeviceEvent, EventKind
from drivers.idcard.codec import (
    CMD_FIND,
    CMD_READ_FP,
    CMD_READ_TEXT,
    CMD_SAM_ID,
    CMD_SAM_RESET,
    CMD_SAM_STATUS,
    CMD_SELECT,
    COMMAND_NAMES,
    SW3_FIND_OK,
    ChecksumError,
    FrameReceiver,
    ReadPayload,
    Response,
    SamStatusError,
    build_command,
    parse_read_payload,
    parse_response,
)
from drivers.idcard.text import IdentityRecord, decode_text_block
from drivers.serial_link import SERIAL_ERRORS, open_serial

__all__ = ["MIN_POLL_INTERVAL", "IdCardRead", "IdReader"]

log = logging.getLogger(__name__)
MIN_POLL_INTERVAL = 0.3  # seconds between find-card commands on real hardware


class IdCardRead:
    """One successful read: the decoded record and the sizes of the opaque photo/fingerprint."""

    __slots__ = ("fingerprint_bytes", "photo_bytes", "record")

    def __init__(self, record: IdentityRecord, payload: ReadPayload) -> None:
        self.record = record
        # The photo (WLT) and fingerprint are never kept: only their sizes.
        self.photo_bytes = len(payload.photo)
        self.fingerprint_bytes = len(payload.fingerprint or b"")

    def to_json(self) -> dict[str, Any]:
        """Record fields plus the photo/fingerprint sizes."""
        out = self.record.to_json()
        out["photo_bytes"] = self.photo_bytes
        out["fingerprint_bytes"] = self.fingerprint_bytes
        return out


class IdReader:
    """A SAM_V reader at a serial URL; `poll()` / `run()` turn placements into events."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 115200,
        timeout: float = 1.0,
        poll_interval: float = 0.5,
        reconnect_interval: float = 0.5,
        retries: int = 2,
        with_fingerprint: bool = False,
        station: str = "",
        device: str = "idreader",
        on_event: Callable[[DeviceEvent], None] | None = None,
    ) -> None:
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.reconnect_interval = reconnect_interval
        self.retries = retries
        self.with_fingerprint = with_fingerprint
        self.station = station
        self.device = device
        self.on_event = on_event
        self._port: Any = None
        self._rx = FrameReceiver()
        self._lock = threading.Lock()
        self._present = False
        self._faulted = False
        self._last_open_try = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- link -------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """True while the serial link is open."""
        return self._port is not None

    def open(self) -> None:
        """Open the link and check the SAM (reset it once if it reports a fault)."""
        self.close()
        self._port = open_serial(self.url, self.baudrate)
        self._rx.reset()
        try:
            self.check_sam()
        except DeviceError:
            self.close()
            raise

    def close(self) -> None:
        """Close the link (idempotent)."""
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(*SERIAL_ERRORS):
                port.close()

    def __enter__(self) -> IdReader:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.close()

    def transact(self, cmd: tuple[int, int], data: bytes = b"") -> Response:
        """Send one command and return the reader's answer (retrying on checksum errors/timeouts)."""
        for _ in range(self.retries):
            try:
                return self._transact_once(cmd, data)
            except (ChecksumError, DeviceTimeout):
                continue
        return self._transact_once(cmd, data)

    def _transact_once(self, cmd: tuple[int, int], data: bytes) -> Response:
        port = self._port
        if port is None:
            raise TransportError(f"{self.url} is not open")
        name = COMMAND_NAMES.get(cmd, "command")
        try:
            port.reset_input_buffer()
            self._rx.reset()
            port.write(build_command(cmd, data))
            bad = self._rx.bad_frames
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                chunk = port.read(max(1, port.in_waiting))
                if not chunk:
                    continue
                frames = self._rx.feed(chunk)
                if frames:
                    return parse_response(frames[0])
                if self._rx.bad_frames > bad and self._rx.pending == 0:
                    raise ChecksumError(f"{name}: answer failed its checksum")
        except SERIAL_ERRORS as exc:
            raise TransportError(f"{self.url}: {exc}") from exc
        raise DeviceTimeout(f"{name}: no answer within {self.timeout:g} s")

    # -- commands ---------------------------------------------------------------------------
    def check_sam(self) -> None:
        """Check the SAM status; on a fault reset it and check again."""
        answer = self.transact(CMD_SAM_STATUS)
        if answer.sw3 == 0x90:
            return
        log.warning("SAM status %02X; resetting the SAM", answer.sw3)
        self.transact(CMD_SAM_RESET).check("reset SAM")
        self.transact(CMD_SAM_STATUS).check("SAM status")

    def sam_id(self) -> bytes:
        """Raw 16-byte SAM management information (formatting is not settled, see §4)."""
        return self.transact(CMD_SAM_ID).check("read SAM id").data

    def find(self) -> bool:
        """True if a card is in the field (SW3 9F), False on 80; raise on any other status."""
        answer = self.transact(CMD_FIND)
        if answer.sw3 == SW3_FIND_OK:
            return True
        if answer.sw3 == 0x80:
            return False
        raise SamStatusError(answer.sw3, answer.sw1, answer.sw2, "find card")

    def select(self) -> None:
        """Select the found card."""
        self.transact(CMD_SELECT).check("select card")

    def read(self) -> IdCardRead:
        """Read and decode the selected card (30 01, or 30 10 with fingerprint)."""
        cmd = CMD_READ_FP if self.with_fingerprint else CMD_READ_TEXT
        answer = self.transact(cmd).check(COMMAND_NAMES[cmd])
        payload = parse_read_payload(answer.data, self.with_fingerprint)
        return IdCardRead(decode_text_block(payload.text), payload)

    def read_once(self, timeout: float) -> IdCardRead:
        """Wait up to `timeout` s for a card, then select and read it."""
        deadline = time.monotonic() + timeout
        while not self.find():
            if time.monotonic() + self.poll_interval > deadline:
                raise DeviceTimeout(f"no card placed on the reader within {timeout:g} s")
            time.sleep(self.poll_interval)
        self.select()
        return self.read()

    # -- polling ----------------------------------------------------------------------------
    def _emit(self, events: list[DeviceEvent], event_kind: EventKind, **payload: Any) -> None:
        event = DeviceEvent(self.station, self.device, event_kind, payload)
        events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def poll(self) -> list[DeviceEvent]:
        """One polling step: (re)open if needed, find, and read a newly placed card once."""
        events: list[DeviceEvent] = []
        with self._lock:
            try:
                self._poll(events)
            except TransportError as exc:
                self.close()
                self._present = False
                if not self._faulted:
                    self._faulted = True
                    self._emit(events, EventKind.device_fault, reason="transport", message=str(exc))
            except DeviceError as exc:
                if not self._faulted:
                    self._faulted = True
                    self._emit(
                        events, EventKind.device_fault, reason=_reason(exc), message=str(exc)
                    )
                if isinstance(exc, SamStatusError) and exc.sam_fault and self.is_open:
                    with contextlib.suppress(DeviceError):
                        self.check_sam()
        return events

    def _poll(self, events: list[DeviceEvent]) -> None:
        if self._port is None:
            now = time.monotonic()
            if now - self._last_open_try < self.reconnect_interval:
                return
            self._last_open_try = now
            self.open()
        found = self.find()
        if self._faulted:
            self._faulted = False
            self._emit(events, EventKind.device_recovered)
        if not found:
            if self._present and not self._still_selected():
                self._present = False
                self._emit(events, EventKind.card_removed)
            return
        if self._present:
            return
        # A new placement: read it once; on failure the card must be re-placed (§2 note).
        self._present = True
        try:
            self.select()
            result = self.read()
        except (SamStatusError, ChecksumError, DeviceTimeout) as exc:
            self._emit(events, EventKind.read_failed, reason=_reason(exc), message=str(exc))
            return
        except DeviceError as exc:
            if isinstance(exc, TransportError):
                raise
            self._emit(events, EventKind.read_failed, reason=_reason(exc), message=str(exc))
            return
        self._emit(events, EventKind.id_read, **result.to_json())

    def _still_selected(self) -> bool:
        # Some readers stop answering 9F to find-card once a card has been read although it is
        # still on the antenna; a successful select tells the two cases apart.
        try:
            self.select()
        except SamStatusError:
            return False
        return True

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set."""
        while not stop.is_set():
            self.poll()
            stop.wait(self.poll_interval)

    def start(self) -> None:
        """Poll in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), daemon=True, name="idreader"
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread (if any)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=5)


def _reason(exc: DeviceError) -> str:
    if isinstance(exc, SamStatusError):
        return "no_card" if exc.no_card else f"sw3_{exc.sw3:02x}"
    if isinstance(exc, ChecksumError):
        return "checksum"
    if isinstance(exc, DeviceTimeout):
        return "timeout"
    if isinstance(exc, TransportError):
        return "transport"
    return "protocol"
