"""One life cycle for every device thread: open, poll, report, reopen with back-off, stop.

A driver subclasses `DeviceWatcher` and fills in `open_device`, `close_device` and `step`;
`poll()` runs one round (tests call it directly), `start()`/`stop()` run rounds in a thread.
A `TransportError` closes the link and reopens it after a back-off; any other `DeviceError`
from `step` marks the device faulted without closing it. A fault is reported once per episode
(device_fault) and its end once (device_recovered). Events go to one sink callback.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from branch_common.backoff import Backoff
from drivers.errors import DeviceError, DeviceTimeout, ProtocolError, TransportError
from drivers.events import DeviceEvent, DeviceProblem, DeviceRecovered, EventKind, Payload, Problem

__all__ = ["DeviceState", "DeviceWatcher", "Sink", "problem_of"]

log = logging.getLogger(__name__)

Sink = Callable[[DeviceEvent], None]


class DeviceState(enum.StrEnum):
    """Where a watched device stands."""

    stopped = "stopped"  # never opened, or closed on purpose
    ready = "ready"  # open and answering
    faulted = "faulted"  # unreachable or misbehaving; retried with back-off


def problem_of(exc: DeviceError) -> Problem:
    """The problem a driver error stands for (subclasses refine it)."""
    if isinstance(exc, TransportError):
        return Problem.transport
    if isinstance(exc, DeviceTimeout):
        return Problem.timeout
    if isinstance(exc, ProtocolError):
        return Problem.protocol
    return Problem.unavailable


class DeviceWatcher:
    """Base of the device threads; subclasses implement the three hooks below."""

    thread_name = "device"

    def __init__(
        self,
        on_event: Sink | None,
        *,
        station: str,
        device: str,
        interval: float,
        backoff: Backoff | None = None,
        stop_timeout: float = 5.0,
    ) -> None:
        self.on_event = on_event
        self.station, self.device = station, device
        self.interval = interval
        self.backoff = backoff or Backoff(first=0.25, cap=5.0)
        self.stop_timeout = stop_timeout
        self.state = DeviceState.stopped
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._round: list[DeviceEvent] | None = None

    # -- hooks ------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Tell whether the link to the device is open."""
        return True

    def open_device(self) -> None:
        """Open the link; raise a DeviceError when the device cannot be reached."""

    def close_device(self) -> None:
        """Close the link (idempotent)."""

    def step(self) -> None:
        """Do one round of work on an open device; emit what happened."""

    def problem(self, exc: DeviceError) -> Problem:
        """Name the problem behind a failure."""
        return problem_of(exc)

    # -- events -----------------------------------------------------------------------------
    def emit(self, kind: EventKind, payload: Payload) -> DeviceEvent:
        """Send one event to the sink (a failing sink is logged, never raised)."""
        event = DeviceEvent(self.station, self.device, kind, payload)
        if self._round is not None:
            self._round.append(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # the hub's callback must not kill the device thread
                log.exception("event callback failed for %s", kind)
        return event

    def fault(self, exc: DeviceError) -> None:
        """Enter the faulted state, reporting device_fault once per episode."""
        self.backoff_after_failure()
        if self.state is DeviceState.faulted:
            return
        self.state = DeviceState.faulted
        log.warning("%s/%s faulted: %s", self.station, self.device, type(exc).__name__)
        self.emit(EventKind.device_fault, DeviceProblem(self.problem(exc), str(exc)))

    def mark_ready(self, message: str = "") -> None:
        """Enter the ready state, reporting device_recovered when a fault ends."""
        if self.state is DeviceState.faulted:
            self.emit(EventKind.device_recovered, DeviceRecovered(message))
        self.state = DeviceState.ready
        self.backoff.reset()

    def backoff_after_failure(self) -> None:
        """Hold the next reopen back by the next back-off delay."""
        self._retry_at = time.monotonic() + self.backoff.next()

    # -- one round --------------------------------------------------------------------------
    def poll(self) -> list[DeviceEvent]:
        """Run one round (reopen if due, then `step`); return the events it emitted."""
        with self._lock:
            events: list[DeviceEvent] = []
            self._round = events
            try:
                self._one_round()
            finally:
                self._round = None
        return events

    def _one_round(self) -> None:
        if not self.is_open:
            if time.monotonic() < self._retry_at:
                return
            try:
                self.open_device()
            except DeviceError as exc:
                self.fault(exc)
                self.close_device()
                return
            self.mark_ready()
        try:
            self.step()
        except TransportError as exc:
            self.fault(exc)
            self.close_device()
            return
        except DeviceError as exc:
            self.fault(exc)
            self.after_fault(exc)
            return
        self.mark_ready()

    def after_fault(self, exc: DeviceError) -> None:
        """React to a fault that left the link open (e.g. reset a module)."""

    # -- thread -----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Run rounds until `stop` is set, then close the device."""
        try:
            while not stop.is_set():
                try:
                    self.poll()
                except Exception:  # a driver bug must not end the thread silently
                    log.exception("%s/%s: round failed", self.station, self.device)
                    self.backoff_after_failure()
                stop.wait(self._pause())
        finally:
            with self._lock:
                self.close_device()

    def _pause(self) -> float:
        # While the link is down, sleep until the next reopen is due rather than spin.
        if self.is_open:
            return self.interval
        return max(self.interval, self._retry_at - time.monotonic())

    def start(self) -> Self:
        """Start the device thread (once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run, args=(self._stop,), name=self.thread_name, daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the device thread, waiting at most `timeout` (default `stop_timeout`) seconds."""
        self._stop.set()
        self.join(self.stop_timeout if timeout is None else timeout)

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; tell whether it did."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s/%s did not stop within %g s", self.station, self.device, timeout)
            return False
        self._thread = None
        self.state = DeviceState.stopped
        return True

    @property
    def running(self) -> bool:
        """Tell whether the device thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
