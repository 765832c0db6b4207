"""A whole simulated branch on loopback: HQ bundles over HTTPS, the collector, the real hub process.

Shared by the branch day (`branch_demo.day`, `python -m bench.branch_day`) and `./run demo`. Everything lives under one folder: the branch CA and
device certificates, the hub's data directory and TOML, HQ's keys and published bundles, the
collector's database, and pty simulators (stripe reader, ID reader, printer) per kiosk station,
which the bench drives from outside the hub process.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from branch_demo.hq import (
    collector_command,
    collector_counts,
    make_keys,
    publish_demo_catalogue,
    retier_and_add,
    synth_options,
    write_export,
)
from branch_demo.site_files import BRANCH, COUNTERS, PIN, SERVICES, HubToml, enrol
from drivers.sim.identity import identity_from_export
from drivers.sim.idreader import IdReaderSim
from drivers.sim.magstripe import MagstripeSimulator
from drivers.sim.printer import PrinterSim
from sync.publisher import publish
from sync.static_server import StaticServer, make_test_pki
from sync.synth import write_export_file
from sync.synth_products import CatalogueRef

__all__ = [
    "BRANCH",
    "COUNTERS",
    "PIN",
    "SERVICES",
    "BranchSite",
    "SiteOptions",
    "Station",
    "free_port",
]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SiteOptions:
    """How big and how fast the simulated branch is."""

    customers: int = 5000
    stations: int = 3
    tablets: int = 20
    speed: float = 60.0  # simulated seconds per real second
    seed: int = 11
    pull_interval_s: float = 10.0  # real seconds (the config's floor)
    render_tickets: bool = False
    pcsc_card_reader: bool = False  # station K1 reads chip cards through pcscd + vpcd
    catalogue_products: int = 300  # HQ's product catalogue (a real one holds thousands)
    catalogue_articles: int = 2000
    # Keep every exported customer in memory (deltas and the day's crowd pick from them); off,
    # only the first few are kept, so a bench can build millions without GBs of dicts.
    keep_customers: bool = True


@dataclass
class Station:
    """One kiosk station's simulators and its client certificate."""

    id: str
    msr: MagstripeSimulator
    idreader: IdReaderSim
    printer: PrinterSim


@dataclass
class BranchSite:
    """The running simulated branch (hub subprocess, collector subprocess, HQ static server)."""

    root: Path
    opts: SiteOptions
    customers: list[dict[str, Any]] = field(default_factory=list)
    stations: list[Station] = field(default_factory=list)
    hub: subprocess.Popen[bytes] | None = None
    collector: subprocess.Popen[bytes] | None = None
    static: StaticServer | None = None
    hub_port: int = 0
    collector_port: int = 0
    restarts: int = 0
    peak_rss_kb: int = 0
    published: list[int] = field(default_factory=list)
    catalogue_refs: tuple[CatalogueRef, ...] = ()

    # -- paths ----------------------------------------------------------------------------
    @property
    def data(self) -> Path:
        """The hub's data directory."""
        return self.root / "hub" / "var"

    @property
    def config_path(self) -> Path:
        """The hub's TOML."""
        return self.root / "hub" / "hub.toml"

    @property
    def url(self) -> str:
        """The hub's base URL."""
        return f"https://127.0.0.1:{self.hub_port}"

    def device_context(self, device_id: str) -> ssl.SSLContext:
        """A TLS client context presenting an enrolled device's certificate."""
        ctx = ssl.create_default_context(cafile=str(self.data / "pki" / "ca.crt"))
        dev = self.root / "devices"
        ctx.load_cert_chain(str(dev / f"{device_id}.crt"), str(dev / f"{device_id}.key"))
        return ctx

    @property
    def _workers(self) -> int | None:
        return 1 if self.opts.customers <= 20_000 else None  # big exports use every core

    # -- build ----------------------------------------------------------------------------
    def build(self) -> None:
        """Create PKI, devices, staff, HQ data and bundles, simulators and the hub's config."""
        self.root.mkdir(parents=True, exist_ok=True)
        enrol(self.data, self.root, self.opts.stations, self.opts.tablets)
        self._hq_first_publish()
        self._simulators()
        self._write_config()

    def _hq_first_publish(self) -> None:
        hq = self.root / "hq"
        hq.mkdir(exist_ok=True)
        self.hq_key, self.hub_sync = make_keys(hq, self.data)
        self.catalogue_refs = publish_demo_catalogue(
            hq,
            self.hq_key,
            self.opts.catalogue_products,
            self.opts.catalogue_articles,
            self.opts.seed,
        )
        export = hq / "export-1.jsonl"
        write_export_file(
            synth_options(self.opts.customers, self.opts.seed, self.catalogue_refs),
            export,
            workers=self._workers,
            progress=False,
        )
        with export.open("rb") as lines:
            kept = lines if self.opts.keep_customers else itertools.islice(lines, 20)
            self.customers = [orjson.loads(line) for line in kept]
        publish(
            export,
            self.hub_sync.public_key(),
            self.hq_key,
            hq / "pub",
            BRANCH,
            workers=self._workers,
            progress=False,
        )
        self.published.append(
            len(self.customers) if self.opts.keep_customers else self.opts.customers
        )
        self.tls_ca, self.tls_cert, self.tls_key = make_test_pki(hq / "tls")
        self.static = StaticServer(hq / "pub", self.tls_cert, self.tls_key)
        self.static.start()
        self.collector_port = free_port()

    def publish_delta(self, added: int = 50, changed: int = 50) -> list[dict[str, Any]]:
        """Publish a delta (new and re-tiered customers); return the new customers."""
        hq = self.root / "hq"
        n = len(self.published)
        previous, export = hq / f"export-{n}.jsonl", hq / f"export-{n + 1}.jsonl"
        rows, new = retier_and_add(
            self.customers,
            changed=changed,
            added=added,
            seed=self.opts.seed + 1000 + n,
            catalogue=self.catalogue_refs,
        )
        write_export(export, rows)
        publish(
            export,
            self.hub_sync.public_key(),
            self.hq_key,
            hq / "pub",
            BRANCH,
            previous=previous,
            workers=1,
            progress=False,
        )
        self.customers = rows
        self.published.append(len(rows))
        return new

    def _simulators(self) -> None:
        sim = self.root / "sim"
        sim.mkdir(exist_ok=True)
        people = [identity_from_export(c) for c in self.customers[:20]]
        for i in range(self.opts.stations):
            sid = f"K{i + 1}"
            msr = MagstripeSimulator("wedge", sim / f"{sid}-msr")
            idr = IdReaderSim(sim / f"{sid}-id", people, seed=i + 1)
            idr.start()
            prn = PrinterSim(
                sim / f"{sid}-printer", self.root / "tickets" / sid, render=self.opts.render_tickets
            )
            prn.start()
            self.stations.append(Station(sid, msr, idr, prn))

    def _write_config(self) -> None:
        toml = HubToml(
            speed=self.opts.speed,
            bundle_url=self.static.url if self.static else "",
            catalogue_url=f"{self.static.url.rstrip('/')}/catalogue/" if self.static else "",
            collector_port=self.collector_port,
            tls_ca=self.tls_ca,
            hq_signing_pub=self.root / "hq" / "hq_signing.pub",
            pull_interval_s=self.opts.pull_interval_s,
        )
        stations = [
            (
                st.id,
                "sim://card" if (i == 0 and self.opts.pcsc_card_reader) else "none",
                f"serial://{st.idreader.path}",
                f"wedge://{st.msr.path}",
                f"serial://{st.printer.path}",
            )
            for i, st in enumerate(self.stations)
        ]
        self.config_path.write_text(toml.text(stations), encoding="utf-8")

    # -- processes ------------------------------------------------------------------------
    def start_hub(self, timeout: float = 60.0) -> None:
        """Start (or restart) the hub on the same port and wait until it answers."""
        if not self.hub_port:
            self.hub_port = free_port()
        log = (self.root / "hub.log").open("ab")
        self.hub = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "branch_hub.cli",
                "--config",
                str(self.config_path),
                "--listen",
                f"127.0.0.1:{self.hub_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        log.close()
        self._wait_port(self.hub_port, timeout, self.hub)

    def kill_hub(self) -> None:
        """kill -9 the hub (a power cut or a crash)."""
        if self.hub is None:
            return
        self.sample_rss()
        self.hub.send_signal(signal.SIGKILL)
        self.hub.wait(10)

    def restart_hub(self) -> None:
        """kill -9 the hub, then start it again."""
        self.kill_hub()
        self.restarts += 1
        self.start_hub()

    def stop_hub(self) -> None:
        """Stop the hub cleanly."""
        if self.hub is not None and self.hub.poll() is None:
            self.sample_rss()
            self.hub.send_signal(signal.SIGTERM)
            try:
                self.hub.wait(20)
            except subprocess.TimeoutExpired:
                self.hub.kill()
                self.hub.wait(5)

    def sample_rss(self) -> None:
        """Record the hub's peak resident set size (VmHWM)."""
        if self.hub is None or self.hub.poll() is not None:
            return
        try:
            status = Path(f"/proc/{self.hub.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))

    def start_collector(self) -> None:
        """Start HQ's outcome collector (the WAN is up)."""
        hq = self.root / "hq"
        log = (self.root / "collector.log").open("ab")
        command = collector_command(
            self.collector_port,
            hq / "collector.db",
            self.tls_cert,
            self.tls_key,
            BRANCH,
            self.data / "outcome_signing.pub",
        )
        self.collector = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_port(self.collector_port, 30, self.collector)

    def stop_collector(self) -> None:
        """Stop the collector (the WAN link to HQ is down)."""
        if self.collector is not None and self.collector.poll() is None:
            self.collector.terminate()
            try:
                self.collector.wait(10)
            except subprocess.TimeoutExpired:
                self.collector.kill()
                self.collector.wait(5)
        self.collector = None

    @staticmethod
    def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before listening")
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s")

    def collector_counts(self) -> dict[str, int]:
        """Outcome events HQ stored, by kind, and redeliveries it deduplicated."""
        return collector_counts(self.root / "hq" / "collector.db")

    def close(self, keep: bool = False) -> None:
        """Stop everything (and remove the folder unless `keep`)."""
        self.stop_hub()
        self.stop_collector()
        if self.static is not None:
            self.static.stop()
        for st in self.stations:
            for stop in (st.msr.close, st.idreader.stop, st.printer.stop):
                with contextlib.suppress(Exception):  # best effort at teardown
                    stop()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Tell whether a process exists."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
