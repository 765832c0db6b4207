"""kill -9 at every step of a staff action, then the device retries: nothing lost, nothing twice.

A real hub process (built by `build_hub`, served over mutual TLS) dies like kill -9 at one step
of a lead outcome or a call-next (tests/support/crashing_hub.py wraps the real methods). It is
restarted on the same data and port; the device logs in again and retries with the same request
id. Afterwards the hub holds exactly one record, one push event and one record for HQ of the
action, the retry's answer is the action's answer, and for call-next no other ticket was called
or finished.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from branch_hub.security import HubSecurity
from tests.outbox_support import Child
from tests.support.crashing_hub import STEPS
from tests.support.hubkit import install_pki
from tests.support.lobbyenv import STAFF_PIN, BuiltCache, build_cache
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("crash-cache"), customers=60)


class Branch:
    """One provisioned data folder, its devices, and a hub process on a fixed port."""

    def __init__(self, root: Path, cache: BuiltCache) -> None:
        self.data = root / "hub"
        self.tls: TlsEnv = make_tls_env(root / "pki")
        install_pki(self.tls, self.data)
        shutil.copytree(cache.folder, self.data / "cache")
        security = HubSecurity.open(self.data)
        self.tls.registry = security.devices
        self.kiosk = self.tls.client("K1", "kiosk")
        self.tablet = self.tls.client("TAB-w", "tablet")
        self.counter = self.tls.client("CTR-t", "counter")
        security.close()
        self.tls.registry = None
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}/api/v1"
        self.tokens: dict[str, str] = {}

    def start(self, *extra: str) -> tuple[Child, str | None]:
        """Start the hub; return it and the kiosk session it opened (with --identify)."""
        args = [sys.executable, "-m", "tests.support.crashing_hub"]
        child = Child([*args, "--data", str(self.data), "--port", str(self.port), *extra])
        session = None
        if "--identify" in extra:
            session = child.wait_for("session ").split()[-1]
        child.wait_for("listening")
        self.tokens.clear()
        return child, session

    def post(self, device: str, path: str, body: dict[str, Any]) -> requests.Response:
        """POST as a device (staff devices logged in)."""
        cert = {"kiosk": self.kiosk, "tablet": self.tablet, "counter": self.counter}[device]
        headers = {}
        if device != "kiosk":
            headers["Authorization"] = f"Bearer {self._token(device, cert)}"
        return requests.post(
            f"{self.url}{path}",
            json=body,
            cert=tuple(str(p) for p in cert),  # type: ignore[arg-type]
            verify=str(self.tls.ca_path),
            headers=headers,
            timeout=10,
        )

    def _token(self, device: str, cert: tuple[Path, Path]) -> str:
        if device not in self.tokens:
            staff = {"tablet": "S-WEALTH", "counter": "S-TELLER"}[device]
            answer = requests.post(
                f"{self.url}/login",
                json={"staff_id": staff, "pin": STAFF_PIN},
                cert=tuple(str(p) for p in cert),  # type: ignore[arg-type]
                verify=str(self.tls.ca_path),
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            self.tokens[device] = answer.json()["token"]
        return self.tokens[device]

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Read the hub's database (another connection; WAL readers do not block the hub)."""
        with sqlite3.connect(self.data / "hub.db") as db:
            return db.execute(sql, params).fetchall()


def _dies(child: Child, call: Any) -> None:
    """The request gets no answer because the hub died like kill -9."""
    with pytest.raises(requests.ConnectionError):
        call()
    assert child.proc.wait(30) == 137


@pytest.mark.parametrize("step", STEPS)
def test_lead_outcome_survives_kill_9_at_every_step(
    tmp_path: Path, cache: BuiltCache, step: str
) -> None:
    customer = next(
        c for c in cache.customers if c["leads"] and c["cards"] and not c["lead_declines"]
    )
    lead = customer["leads"][0]["lead_id"]
    branch = Branch(tmp_path, cache)
    hub, session = branch.start(
        "--crash", step, "--action", "outcome", "--identify", customer["cards"][0]["pan"]
    )
    try:
        issued = branch.post(
            "kiosk", "/kiosk/tickets", {"service": "wealth", "session_id": session}
        )
        assert issued.status_code == 201, issued.text
        visit = branch.rows("SELECT visit_id FROM visits")[0][0]
        body = {"outcome": "accepted", "request_id": "outcome-1"}
        path = f"/visits/{visit}/leads/{lead}/outcome"
        _dies(hub, lambda: branch.post("tablet", path, body))
    finally:
        hub.stop()
    hub, _ = branch.start()
    try:
        first = branch.post("tablet", path, body)
        again = branch.post("tablet", path, body)
        assert first.status_code == again.status_code == 201, first.text
        assert first.json() == again.json()
        assert (first.json()["lead_id"], first.json()["outcome"]) == (lead, "accepted")
    finally:
        hub.stop()
    kinds = [k for (k,) in branch.rows("SELECT kind FROM outbox") if k == "lead_outcome"]
    assert kinds == ["lead_outcome"]  # exactly one record for HQ (its key deduplicates at HQ)
    assert branch.rows("SELECT COUNT(*) FROM push_events WHERE kind = 'lead_outcome'") == [(1,)]
    assert branch.rows("SELECT COUNT(*) FROM entries WHERE kind = 'outcome'") == [(1,)]


@pytest.mark.parametrize("step", [s for s in STEPS if s != "after_outbox"])
def test_call_next_survives_kill_9_at_every_step(
    tmp_path: Path, cache: BuiltCache, step: str
) -> None:
    branch = Branch(tmp_path, cache)
    hub, _ = branch.start("--crash", step, "--action", "call-next")
    try:
        tickets = [
            branch.post("kiosk", "/kiosk/tickets", {"service": "cash"}).json()["ticket"]["id"]
            for _ in range(2)
        ]
        body = {"request_id": "press-1"}
        _dies(hub, lambda: branch.post("counter", "/counters/C1/call-next", body))
    finally:
        hub.stop()
    hub, _ = branch.start()
    try:
        first = branch.post("counter", "/counters/C1/call-next", body)
        again = branch.post("counter", "/counters/C1/call-next", body)
        assert first.status_code == again.status_code == 200, first.text
        assert first.json() == again.json()
        assert first.json()["ticket"]["id"] == tickets[0]
    finally:
        hub.stop()
    states = dict(branch.rows("SELECT id, state FROM tickets"))
    # The first customer is at the counter; the second still waits: nobody was finished unseen.
    assert states == {tickets[0]: "called", tickets[1]: "waiting"}
    assert branch.rows("SELECT COUNT(*) FROM push_events WHERE kind = 'called'") == [(1,)]
