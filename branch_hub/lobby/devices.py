"""A station's devices, opened from the URLs in `[[stations]]`, each reporting `DeviceEvent`s.

URL forms (docs/hub-api.md, "Devices"): `none`; `pcsc://READER` (a name fragment) and
`sim://card` (the vpcd virtual reader "Virtual PCD 00 00"); `serial://PATH?baud=N`,
`socket://HOST:PORT` or a plain path for the ID reader, the MSR206 stripe reader and the
printer; `wedge:///dev/...` for a keyboard-wedge stripe reader; `usb://VID:PID` and
`tcp://HOST:PORT` for printers; `sim://idreader`, `sim://magstripe`, `sim://printer` start the
project's pty simulators inside the hub (demo and tests; kept in `StationDevices.sims`).
A device that cannot be opened is reported as a fault event, never raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from branch_hub.config import Station
from drivers.events import DeviceEvent, DeviceProblem, EventKind, Problem

__all__ = ["VPCD_READER", "StationDevices"]

log = logging.getLogger("branch_hub.lobby.devices")
VPCD_READER = "Virtual PCD 00 00"
Sink = Callable[[DeviceEvent], None]


class StationDevices:
    """The watchers and printer of one kiosk station."""

    def __init__(
        self,
        station: Station,
        sim_dir: Path,
        *,
        poll_interval: float = 0.1,
        printer_interval: float = 5.0,
    ) -> None:
        self.station = station
        self.sim_dir = sim_dir
        self.poll_interval = poll_interval
        self.printer_interval = printer_interval
        self.printer: Any = None
        self.sims: dict[str, Any] = {}
        self.card_watcher: Any = None  # the chip reader's poller (tests await its looks)
        self._stoppers: list[Callable[[], None]] = []

    @property
    def id(self) -> str:
        """The station id."""
        return self.station.id

    def start(self, sink: Sink) -> None:
        """Open every configured device; failures become device_fault events."""
        for device, url, opener in (
            ("card_reader", self.station.card_reader, self._card_reader),
            ("idreader", self.station.id_reader, self._id_reader),
            ("magstripe", self.station.magstripe, self._magstripe),
            ("printer", self.station.printer, self._printer),
        ):
            if url == "none":
                continue
            try:
                opener(url, sink)
            except Exception as exc:  # any failure to open is an alert, not a crash
                log.warning(
                    "station %s: %s (%s) cannot be opened: %s",
                    self.id,
                    device,
                    urlsplit(url).scheme,
                    type(exc).__name__,
                )
                problem = DeviceProblem(Problem.unavailable, "cannot be opened")
                sink(DeviceEvent(self.id, device, EventKind.device_fault, problem))

    def stop(self) -> None:
        """Stop watchers and simulators."""
        for stop in reversed(self._stoppers):
            try:
                stop()
            except Exception:  # best effort at shutdown
                log.exception("station %s: stopping a device failed", self.id)
        self._stoppers.clear()

    # -- openers ---------------------------------------------------------------------------
    def _sim_path(self, name: str) -> Path:
        self.sim_dir.mkdir(parents=True, exist_ok=True)
        return self.sim_dir / f"{self.id}-{name}"

    def _card_reader(self, url: str, sink: Sink) -> None:
        from drivers.pcsc.watcher import CardWatcher

        parts = urlsplit(url)
        reader: str | None
        if parts.scheme == "sim":
            reader = VPCD_READER
        elif parts.scheme == "pcsc":
            reader = unquote(url[len("pcsc://") :]).strip("/") or None
        else:
            raise ValueError(f"unsupported card reader URL scheme {parts.scheme!r}")
        watcher = CardWatcher(
            sink,
            station=self.id,
            device="card_reader",
            reader_filter=reader,
            poll_interval=self.poll_interval,
        )
        watcher.start()
        self.card_watcher = watcher
        self._stoppers.append(watcher.stop)

    def _id_reader(self, url: str, sink: Sink) -> None:
        from drivers.idcard.reader import MIN_POLL_INTERVAL, IdReader

        interval = max(self.poll_interval, MIN_POLL_INTERVAL)  # real readers need the pause
        if urlsplit(url).scheme == "sim":
            from drivers.sim.identity import BUILT_IN
            from drivers.sim.idreader import IdReaderSim

            # Tests and the demo place their own customers' cards (`place(identity)`).
            sim = IdReaderSim(self._sim_path("idreader"), BUILT_IN)
            sim.start()
            self.sims["idreader"] = sim
            self._stoppers.append(sim.stop)
            url = sim.path
            interval = self.poll_interval
        reader = IdReader(
            url, station=self.id, device="idreader", on_event=sink, poll_interval=interval
        )
        reader.start()
        self._stoppers.append(reader.stop)  # the thread closes the link as it ends

    def _magstripe(self, url: str, sink: Sink) -> None:
        from drivers.magstripe.readers import (
            LineSource,
            MagstripeWatcher,
            SerialMsrReader,
            WedgeReader,
        )

        parts = urlsplit(url)
        opener: Callable[[], LineSource]
        if parts.scheme == "sim":
            from drivers.sim.magstripe import MagstripeSimulator

            sim = MagstripeSimulator("wedge", self._sim_path("magstripe"))
            self.sims["magstripe"] = sim
            self._stoppers.append(sim.close)
            path = str(sim.path)

            def opener() -> LineSource:
                return WedgeReader(path)

        elif parts.scheme == "wedge":
            path = unquote(parts.path)

            def opener() -> LineSource:
                return WedgeReader(path)

        else:
            from drivers.serial_link import split_baud

            target, baud = split_baud(url, 9600)

            def opener() -> LineSource:
                return SerialMsrReader(target, baud)

        watcher = MagstripeWatcher(opener, sink, station=self.id, device="magstripe")
        watcher.start()
        self._stoppers.append(watcher.stop)

    def _printer(self, url: str, sink: Sink) -> None:
        from drivers.printer.device import Printer

        if urlsplit(url).scheme == "sim":
            from drivers.sim.printer import PrinterSim

            sim = PrinterSim(self._sim_path("printer"), self._sim_path("printer-out"))
            sim.start()
            self.sims["printer"] = sim
            self._stoppers.append(sim.stop)
            url = sim.path
        printer = Printer(
            url, station=self.id, device="printer", on_event=sink, interval=self.printer_interval
        )
        self.printer = printer.start()  # polls the status between tickets (paper out, cover)
        self._stoppers.append(printer.stop)
