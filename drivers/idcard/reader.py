"""Resident ID card reader over a SAM_V serial link: SAM check/reset, find → select → read, polling.

Timing (docs/protocols.md#sam_v-commands, S11): poll find-card no faster than every 300 ms; after a read the
card is reported again only once it has been removed; after an error the card must be re-placed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from typing import Any, Self

from branch_common.backoff import Backoff
from drivers.errors import DeviceError, DeviceTimeout, TransportError
from drivers.events import CardPresence, EventKind, FailReason, IdCardRead, Problem, ReadFailure
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
    Response,
    SamStatusError,
    build_command,
    parse_read_payload,
    parse_response,
)
from drivers.idcard.text import decode_text_block
from drivers.serial_link import SERIAL_ERRORS, open_serial
from drivers.watcher import DeviceWatcher, Sink

__all__ = ["MIN_POLL_INTERVAL", "IdCardRead", "IdReader"]

log = logging.getLogger(__name__)
MIN_POLL_INTERVAL = 0.3  # seconds between find-card commands on real hardware


class IdReader(DeviceWatcher):
    """A SAM_V reader at a serial URL; `poll()` / `start()` turn placements into events."""

    thread_name = "idreader"

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
        recheck_s: float = 1.0,
        station: str = "",
        device: str = "idreader",
        on_event: Sink | None = None,
    ) -> None:
        cap = max(reconnect_interval, 5.0) if reconnect_interval > 0 else 0.0
        super().__init__(
            on_event,
            station=station,
            device=device,
            interval=poll_interval,
            backoff=Backoff(first=reconnect_interval, cap=cap),
        )
        self.url = url
        self.baudrate = baudrate
        self.timeout = timeout
        self.retries = retries
        self.with_fingerprint = with_fingerprint
        self._port: Any = None
        self._rx = FrameReceiver()
        self._present = False
        self.recheck_s = recheck_s
        """While a card stays found, read it again this often: another card may have replaced it
        between two polls (a fast swap, or polls delayed under load); 0 turns this off."""
        self._held: bytes | None = None  # digest of the card on the reader, never its number
        self._checked_at = 0.0

    @property
    def poll_interval(self) -> float:
        """Seconds between two find-card rounds."""
        return self.interval

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
        self._present = False
        if port is not None:
            with contextlib.suppress(*SERIAL_ERRORS):
                port.close()

    open_device = open
    close_device = close

    def __enter__(self) -> Self:
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
        fingerprint = len(payload.fingerprint or b"")
        return IdCardRead(decode_text_block(payload.text), len(payload.photo), fingerprint)

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
    def problem(self, exc: DeviceError) -> Problem:
        """Name the problem behind a failure of the reader."""
        if isinstance(exc, ChecksumError):
            return Problem.checksum
        if isinstance(exc, SamStatusError) and exc.sam_fault:
            return Problem.sam
        return super().problem(exc)

    def after_fault(self, exc: DeviceError) -> None:
        """Reset a SAM that reports a fault of its own."""
        if isinstance(exc, SamStatusError) and exc.sam_fault and self.is_open:
            with contextlib.suppress(DeviceError):
                self.check_sam()

    def step(self) -> None:
        """Find a card; read a newly placed card once; report its removal."""
        found = self.find()
        self.mark_ready()
        if not found:
            if self._present and not self._still_selected():
                self._present = False
                self.emit(EventKind.card_removed, CardPresence(self.device))
            return
        if self._present:
            due = time.monotonic() - self._checked_at >= self.recheck_s
            if self.recheck_s > 0 and self._held is not None and due:  # a failed one: re-place
                self._recheck()
            return
        # A new placement: say so at once (the kiosk shows "reading"), then read it once; on
        # failure the card must be re-placed (§2 note).
        self._present = True
        self._read_placed()

    def _read_placed(self) -> None:
        self.emit(EventKind.card_inserted, CardPresence(self.device))
        self._held, self._checked_at = None, time.monotonic()
        try:
            self.select()
            result = self.read()
        except TransportError:
            raise
        except DeviceError as exc:
            self.emit(EventKind.read_failed, _failure(self.device, exc))
            return
        self._held = _digest(result)
        self.emit(EventKind.id_read, result)

    def _recheck(self) -> None:
        """Read the card that stayed found; a different card is a new placement."""
        self._checked_at = time.monotonic()
        try:
            self.select()
            result = self.read()
        except TransportError:
            raise
        except DeviceError:
            return  # being lifted, or the same card read badly: the next poll sees which
        if _digest(result) != self._held:
            self.emit(EventKind.card_inserted, CardPresence(self.device))
            self._held = _digest(result)
            self.emit(EventKind.id_read, result)

    def _still_selected(self) -> bool:
        # Some readers stop answering 9F to find-card once a card has been read although it is
        # still on the antenna; a successful select tells the two cases apart.
        try:
            self.select()
        except SamStatusError:
            return False
        return True


def _digest(result: IdCardRead) -> bytes:
    return hashlib.sha256(f"{result.id_number}|{result.record.name}".encode()).digest()


def _failure(device: str, exc: DeviceError) -> ReadFailure:
    if isinstance(exc, SamStatusError):
        reason = FailReason.no_card if exc.no_card else FailReason.card_error
        return ReadFailure(device, reason, str(exc), f"{exc.sw3:02X}")
    if isinstance(exc, ChecksumError):
        return ReadFailure(device, FailReason.checksum, str(exc))
    if isinstance(exc, DeviceTimeout):
        return ReadFailure(device, FailReason.timeout, str(exc))
    return ReadFailure(device, FailReason.protocol_error, str(exc))
