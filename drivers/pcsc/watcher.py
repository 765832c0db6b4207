"""Watch PC/SC readers and cards from a thread and emit `DeviceEvent`s; read each inserted card.

The watcher polls with its own PC/SC context. When pcscd goes away (killed, restarted) the
context dies: the watcher reports device_fault once, drops its readers, and keeps trying to
establish a new context; when pcscd is back it reports device_recovered and the readers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from branch_common.backoff import Backoff
from drivers.emv.reader import EmvReader
from drivers.errors import (
    CardError,
    CardRemoved,
    DeviceError,
    DeviceTimeout,
    NoApplication,
    ProtocolError,
    StatusWordError,
    TransportError,
)
from drivers.events import (
    CardPresence,
    CardRead,
    DeviceEvent,
    EventKind,
    FailReason,
    Problem,
    ReaderChange,
    ReadFailure,
)
from drivers.pcsc.transport import PcscTransport, _scard, call_with_timeout
from drivers.watcher import DeviceWatcher, Sink

__all__ = [
    "CardWatcher",
    "FailReason",
    "ReadFailure",
    "asyncio_sink",
    "card_states",
    "classify",
    "failure",
    "read_card",
    "wait_for_card",
]

log = logging.getLogger(__name__)


def classify(exc: DeviceError) -> FailReason:
    """Map a driver error to a read failure reason."""
    if isinstance(exc, CardRemoved):
        return FailReason.card_removed
    if isinstance(exc, DeviceTimeout):
        return FailReason.timeout
    if isinstance(exc, NoApplication):
        return FailReason.no_application
    if isinstance(exc, CardError):
        return FailReason.card_error
    if isinstance(exc, ProtocolError):
        return FailReason.protocol_error
    return FailReason.transport_error


def failure(reader: str, exc: DeviceError) -> ReadFailure:
    """The read_failed payload for a card read that ended in `exc`."""
    code = f"{exc.sw:04X}" if isinstance(exc, StatusWordError) else ""
    return ReadFailure(reader, classify(exc), str(exc), code)


def read_card(reader: str, timeout: float = 10.0, emv: EmvReader | None = None) -> CardRead:
    """Connect to the card in `reader` and read it, giving up after `timeout` seconds."""
    emv = emv or EmvReader()

    def run() -> CardRead:
        with PcscTransport(reader) as card:
            return emv.read(card)

    return call_with_timeout(run, timeout, "read card")


def asyncio_sink(
    loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[DeviceEvent]
) -> Callable[[DeviceEvent], None]:
    """Return a callback that hands events from any thread to an asyncio queue."""

    def sink(event: DeviceEvent) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    return sink


class _Context:
    """A PC/SC context that reports failures instead of raising."""

    def __init__(self) -> None:
        self.scard = _scard()
        self.handle: Any = None

    def ensure(self) -> bool:
        if self.handle is not None:
            return True
        try:
            hresult, handle = self.scard.SCardEstablishContext(self.scard.SCARD_SCOPE_USER)
        except Exception:  # the C layer raises plain errors when the daemon is gone
            return False
        if hresult != self.scard.SCARD_S_SUCCESS:
            return False
        self.handle = handle
        return True

    def drop(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(Exception):  # the daemon may be gone: nothing to release
                self.scard.SCardReleaseContext(self.handle)
            self.handle = None

    def snapshot(self) -> dict[str, bytes | None] | None:
        """Map each reader to its card's ATR (None when empty); None if pcscd is unreachable."""
        s = self.scard
        hresult, readers = s.SCardListReaders(self.handle, [])
        if hresult == s.SCARD_E_NO_READERS_AVAILABLE:
            return {}
        if hresult != s.SCARD_S_SUCCESS:
            return None
        hresult, states = s.SCardGetStatusChange(
            self.handle, 0, [(r, s.SCARD_STATE_UNAWARE) for r in readers]
        )
        if hresult == s.SCARD_E_UNKNOWN_READER:
            return {}  # a reader left between the two calls; look again next round
        if hresult not in (s.SCARD_S_SUCCESS, s.SCARD_E_TIMEOUT):
            return None
        out: dict[str, bytes | None] = {}
        for name, state, atr in states:
            present = state & s.SCARD_STATE_PRESENT and not state & s.SCARD_STATE_MUTE
            out[name] = bytes(atr) if present else None
        return out


class CardWatcher(DeviceWatcher):
    """Poll readers and cards in a thread; read every inserted card; emit events.

    The "device" is the PC/SC service: losing it is a fault (readers are then reported gone),
    and it is re-established with back-off.
    """

    thread_name = "card-watcher"

    def __init__(
        self,
        on_event: Sink,
        *,
        station: str = "kiosk",
        device: str = "card_reader",
        reader_filter: str | None = None,
        poll_interval: float = 0.1,
        read_timeout: float = 8.0,
        emv: EmvReader | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(
            on_event,
            station=station,
            device=device,
            interval=poll_interval,
            backoff=backoff or Backoff(first=poll_interval, cap=max(poll_interval, 2.0)),
        )
        self.reader_filter = reader_filter
        self.read_timeout = read_timeout
        self.emv = emv or EmvReader()
        self._ctx: _Context | None = None
        self._cards: dict[str, bytes | None] = {}
        self._reads: dict[str, tuple[threading.Thread, float, int]] = {}
        self._generation = 0  # tags reads so a stale one cannot report after a removal
        self._read_lock = threading.Lock()
        self._looked = threading.Condition()  # notified after every look at the readers
        self._looks = 0

    @property
    def poll_interval(self) -> float:
        """Seconds between two looks at the readers."""
        return self.interval

    @property
    def readers(self) -> list[str]:
        """Readers currently seen."""
        return sorted(self._cards)

    # -- the PC/SC service as the device ----------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Tell whether a PC/SC context is established."""
        return self._ctx is not None and self._ctx.handle is not None

    def problem(self, exc: DeviceError) -> Problem:
        """The PC/SC service is either there or not."""
        return Problem.unavailable

    def open_device(self) -> None:
        """Establish a PC/SC context."""
        ctx = self._ctx or _Context()
        self._ctx = ctx
        if not ctx.ensure():
            raise TransportError("PC/SC service (pcscd) unavailable")

    def close_device(self) -> None:
        """Release the context and forget every reader."""
        if self._ctx is not None:
            self._ctx.drop()
        self._update({})

    def step(self) -> None:
        """Look at the readers once; start a read for each new card; time out slow reads."""
        assert self._ctx is not None  # noqa: S101 (opened by the base before `step`)
        snap = self._ctx.snapshot()
        if snap is None:
            raise TransportError("PC/SC service (pcscd) stopped answering")
        self._update({r: a for r, a in snap.items() if self._wanted(r)})
        self._check_reads()
        with self._looked:
            self._looks += 1
            self._looked.notify_all()

    def await_looks(self, looks: int, limit_s: float) -> None:
        """Wait until the poller has looked at the readers `looks` more times (at most `limit_s`)."""
        with self._looked:
            target = self._looks + looks
            self._looked.wait_for(lambda: self._looks >= target, timeout=limit_s)

    # -- internals
    def _wanted(self, reader: str) -> bool:
        return self.reader_filter is None or self.reader_filter in reader

    def _update(self, snap: dict[str, bytes | None]) -> None:
        for reader in list(self._cards):
            if reader not in snap:
                if self._cards[reader] is not None:
                    self._removed(reader)
                del self._cards[reader]
                self.emit(EventKind.reader_removed, ReaderChange(reader))
        for reader, atr in snap.items():
            if reader not in self._cards:
                self._cards[reader] = None
                self.emit(EventKind.reader_added, ReaderChange(reader))
            before = self._cards[reader]
            if before is None and atr is not None:
                self._cards[reader] = atr
                self.emit(EventKind.card_inserted, CardPresence(reader, atr.hex().upper()))
                self._start_read(reader)
            elif before is not None and atr is None:
                self._cards[reader] = None
                self._removed(reader)

    def _removed(self, reader: str) -> None:
        with self._read_lock:
            self._generation += 1
            pending = self._reads.pop(reader, None)
        if pending is not None:  # pulled mid-read: the read's own outcome no longer matters
            msg = "card removed during the read"
            self.emit(EventKind.read_failed, ReadFailure(reader, FailReason.card_removed, msg))
        self.emit(EventKind.card_removed, CardPresence(reader))

    def _start_read(self, reader: str) -> None:
        with self._read_lock:
            self._generation += 1
            gen = self._generation
        thread = threading.Thread(
            target=self._read, args=(reader, gen), name=f"card-read {reader}", daemon=True
        )
        with self._read_lock:
            self._reads[reader] = (thread, time.monotonic(), gen)
        thread.start()

    def _claim(self, reader: str, gen: int) -> bool:
        # Only the read that is still current for this reader may report.
        with self._read_lock:
            current = self._reads.get(reader)
            if current is None or current[2] != gen:
                return False
            del self._reads[reader]
            return True

    def _read(self, reader: str, gen: int) -> None:
        try:
            with PcscTransport(reader) as card:
                result = self.emv.read(card)
        except DeviceError as exc:
            if not isinstance(exc, CardRemoved | DeviceTimeout):
                # A card pulled mid-read often fails the transfer (or answers garbage) before the
                # next poll sees it gone: wait for two more looks at the readers (counted, not
                # timed, so a busy machine cannot outrun them), so the customer hears "removed
                # too soon" rather than "unreadable".
                self.await_looks(2, max(1.0, 20 * self.interval))
            if self._claim(reader, gen):
                self.emit(EventKind.read_failed, failure(reader, exc))
            return
        except Exception as exc:
            log.exception("unexpected error reading a card")
            if self._claim(reader, gen):
                reason = FailReason.transport_error
                self.emit(EventKind.read_failed, ReadFailure(reader, reason, type(exc).__name__))
            return
        if self._claim(reader, gen):
            self.emit(EventKind.card_read, replace(result, reader=reader))

    def _check_reads(self) -> None:
        now = time.monotonic()
        with self._read_lock:
            late = [
                (r, g)
                for r, (_t, start, g) in self._reads.items()
                if now - start > self.read_timeout
            ]
        for reader, gen in late:
            if self._claim(reader, gen):
                msg = f"card did not answer within {self.read_timeout:g} s"
                self.emit(EventKind.read_failed, ReadFailure(reader, FailReason.timeout, msg))


def card_states() -> dict[str, bytes | None] | None:
    """Each reader's card ATR as pcscd sees it now (None: empty); None if pcscd does not answer."""
    ctx = _Context()
    try:
        return ctx.snapshot() if ctx.ensure() else None
    finally:
        ctx.drop()


def wait_for_card(reader_filter: str | None, timeout: float) -> str:
    """Block until a card is present in a (matching) reader; return the reader name."""
    ctx = _Context()
    deadline = time.monotonic() + timeout
    try:
        while True:
            snap = ctx.snapshot() if ctx.ensure() else None
            if snap is None:
                ctx.drop()
            else:
                for reader, atr in sorted(snap.items()):
                    if atr is not None and (reader_filter is None or reader_filter in reader):
                        return reader
            if time.monotonic() >= deadline:
                if snap is None:
                    raise DeviceTimeout("PC/SC service (pcscd) is not available")
                if reader_filter is not None and not any(reader_filter in r for r in snap):
                    raise DeviceTimeout(f"no reader matching {reader_filter!r}")
                raise DeviceTimeout(f"no card presented within {timeout:g} s")
            time.sleep(0.1)
    finally:
        ctx.drop()
