"""A swipe the hub took from the serial line survives a kill -9: the customer is still recognised.

A real hub process reads K1's keyboard-wedge stripe reader on a pty this test owns. The hub takes
a swipe off the line and is killed (SIGKILL) before its session reaches the kiosk; started again
on the same data, it completes the read through the arrival path and the kiosk finds the
customer's session with its greeting. The ticket then finishes the read, so a further restart
replays nothing, and a session the kiosk ends takes its read off the disk before the answer. No sealed read holds a card or ID number in the clear on disk or in the log.
"""

from __future__ import annotations

import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from branch_hub.atrest import AtRestCipher
from branch_hub.database import HubDatabase
from branch_hub.lobby.read_journal import ReadJournal
from branch_hub.security import HubSecurity
from drivers.sim.magstripe import MagstripeSimulator, card_swipe
from tests.outbox_support import Child
from tests.support.hubkit import install_pki
from tests.support.lobbyenv import BuiltCache, build_cache
from tests.support.pii_scan import scan_bytes
from tests.support.tlsenv import make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("read-cache"), customers=40)


class Station:
    """A provisioned hub folder, K1's stripe reader on a pty, and the kiosk's certificate."""

    def __init__(self, root: Path, cache: BuiltCache) -> None:
        self.data = root / "hub"
        self.tls = make_tls_env(root / "pki")
        install_pki(self.tls, self.data)
        shutil.copytree(cache.folder, self.data / "cache")
        security = HubSecurity.open(self.data)
        self.tls.registry = security.devices
        self.kiosk = self.tls.client("K1", "kiosk")
        security.close()
        self.tls.registry = None
        self.msr = MagstripeSimulator("wedge", root / "ttyMSR")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}/api/v1"
        self.logs: list[str] = []

    def start(self, *extra: str) -> Child:
        """Start the hub process and wait until it serves."""
        args = [sys.executable, "-m", "tests.support.read_crash_hub", "--data", str(self.data)]
        child = Child([*args, "--port", str(self.port), "--magstripe", str(self.msr.path), *extra])
        child.wait_for("listening")
        return child

    def kill(self, child: Child) -> None:
        """kill -9, keeping what it logged."""
        child.proc.kill()
        child.proc.wait(30)
        self.logs.append(child.error_text())

    def stop(self, child: Child) -> None:
        """SIGTERM, keeping what it logged."""
        child.stop()
        self.logs.append(child.error_text())

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request as K1's kiosk."""
        answer = requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            cert=tuple(str(p) for p in self.kiosk),  # type: ignore[arg-type]
            verify=str(self.tls.ca_path),
            timeout=10,
        )
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def session(self, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The station's session once `done` holds (bounded: 200 looks, as the kiosk polls)."""
        for _ in range(200):
            session: dict[str, Any] = self.call("GET", "/kiosk/session")
            if done(session):
                return session
            time.sleep(0.05)
        raise AssertionError(f"the session never came: {session}")

    def count(self, table: str) -> int:
        """Rows of a table of the hub's database (read beside the running hub)."""
        db = HubDatabase(self.data / "hub.db")
        try:
            with db.reading() as conn:
                return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
        finally:
            db.close()

    def on_disk(self, words: list[str]) -> list[tuple[str, str, str]]:
        """Card or ID numbers in the hub's database files or the hub's log."""
        hits = []
        for path in sorted(self.data.glob("hub.db*")):
            hits += [(path.name, w, e) for w, e in scan_bytes(path.read_bytes(), words)]
        for log in self.logs:
            hits += [("log", w, e) for w, e in scan_bytes(log.encode(), words)]
        return hits


def test_a_swipe_taken_by_a_hub_killed_before_its_session_is_completed_after_restart(
    tmp_path: Path, cache: BuiltCache
) -> None:
    customer = next(c for c in cache.customers if c["cards"])
    card = customer["cards"][0]
    station = Station(tmp_path, cache)
    hub = station.start("--hold-reads")
    try:
        station.msr.swipe(card_swipe(card["pan"], card["expiry"]))
        hub.wait_for("read kept")  # off the serial line and written down; the lobby holds it
        assert station.call("GET", "/kiosk/session")["state"] == "idle"
    finally:
        station.kill(hub)
    hub = station.start()
    try:
        session = station.session(lambda s: s["state"] != "idle")
        assert session["state"] == "recognised"
        assert session["greeting"] is not None
        assert session["greeting"]["salutation_zh"]
        body = {
            "service": "cash",
            "session_id": session["session_id"],
            "request_id": "after-restart-1",
        }
        issued = station.call("POST", "/kiosk/tickets", body)
        assert issued["ticket"]["number"]
    finally:
        station.stop(hub)
    hub = station.start()  # the ticket finished the read: nothing comes back a second time
    try:
        assert station.call("GET", "/kiosk/session")["state"] == "idle"
        assert station.count("visits") == 1
        assert station.count("station_reads") == 0
        station.msr.swipe(card_swipe(card["pan"], card["expiry"]))
        station.session(lambda s: s["state"] == "recognised")
        assert station.count("station_reads") == 1
        station.call("POST", "/kiosk/session/end")  # the customer walked away: the read goes
        assert station.count("station_reads") == 0
    finally:
        station.stop(hub)
    assert station.on_disk([card["pan"], customer["id_number"]]) == []


def test_a_read_older_than_the_session_timeout_is_dropped_and_none_is_readable(
    tmp_path: Path, cache: BuiltCache
) -> None:
    customer = next(c for c in cache.customers if c["cards"])
    pan, id_number = customer["cards"][0]["pan"], customer["id_number"]
    now = [1000.0]
    db = HubDatabase(tmp_path / "hub.db")
    journal = ReadJournal(db, AtRestCipher(bytes(range(32))), clock=lambda: now[0])
    try:
        journal.take("K1", "pan", pan, "stripe")
        journal.take("K2", "id_number", id_number)
        files = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("hub.db*")))
        assert scan_bytes(files, [pan, id_number]) == []
        now[0] += 59.0
        young = journal.pending(60.0)
        assert sorted((r.station, r.kind, r.value) for r in young) == [
            ("K1", "pan", pan),
            ("K2", "id_number", id_number),
        ]
        now[0] += 2.0  # 61 s after the reads: older than the session's time-out
        assert journal.pending(60.0) == []
        assert journal.count() == 0
    finally:
        db.close()
