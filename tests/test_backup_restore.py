"""Restore drill: back up a working hub while it writes, bring the branch back on a fresh folder.

The branch is provisioned with the real `branch-provision` (init, staff, enrolment codes), a kiosk
and a tablet enrol over the real route, tickets and lead outcomes are recorded while HQ is
unreachable, and `branch-provision backup` runs (the command of docs/operations.md) while a task
keeps issuing tickets and outcomes. The old folder is then deleted, `branch-provision restore`
writes a new one, and a hub started on it accepts the old device certificates and the staff
PIN, still holds the queue, and delivers the outbox to a real collector: each event exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.config import load_config
from branch_hub.hub import Hub, HubOptions
from branch_hub.pki import load_pem_pair
from tests.outbox_support import Hq, running
from tests.support.hubkit import served_hub
from tests.support.lobbyenv import BRANCH, BuiltCache, build_cache
from tests.support.tlsenv import TlsEnv

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "operations.md"
PIN = "580213"
PASSPHRASE = "lobby tea kettle 1987 orchid"  # noqa: S105 (a test passphrase)


def section_commands() -> list[str]:
    """The shell commands of the guide's "Backup and restore" section, in order."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## 10. Backup and restore") : text.index("## Files and units")]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


class Machine:
    """A branch machine in a temporary folder: the guide's absolute paths live under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "root").mkdir(parents=True)

    @property
    def etc(self) -> Path:
        return self.root / "etc" / "branch-edge"

    @property
    def data(self) -> Path:
        return self.root / "var" / "lib" / "branch-edge"

    def path(self, text: str) -> str:
        for absolute in ("/root/", "/etc/branch-edge", "/var/lib/branch-edge"):
            text = text.replace(absolute, f"{self.root}{absolute}")
        return text

    def install(self, folder: Path) -> None:
        """The guide's section 1 step 4 (run literally, users and units included, by the package's
        install test): /etc/branch-edge/hub.toml with data_dir pointing at the data folder, and
        the branch folder's var/ copied there; owners and the unit are the package's part."""
        self.etc.mkdir(parents=True, exist_ok=True)
        text = (folder / "hub.toml").read_text(encoding="utf-8")
        text = re.sub(r"(?m)^data_dir = .*$", f'data_dir = "{self.data}"', text)
        (self.etc / "hub.toml").write_text(text, encoding="utf-8")
        for extra in folder.iterdir():  # HQ's files named by relative path go next to hub.toml
            if extra.is_file() and extra.name != "hub.toml":
                shutil.copy2(extra, self.etc / extra.name)
        shutil.copytree(folder / "var", self.data, dirs_exist_ok=True)

    def run(self, command: str, stdin: str = "") -> str:
        """Run a guide command here (programs from this source tree); return its stdout."""
        argv = [self.path(word) for word in shlex.split(command)]
        if argv[0] == "branch-provision":
            argv = [sys.executable, "-m", "branch_hub.provision.cli", *argv[1:]]
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("drill-cache"), customers=40)


def _provision(old: Machine, hq: Hq, cache: BuiltCache) -> dict[str, str]:
    """Section 1 on the old machine (a customer cache, HQ's collector named, stations without
    hardware), staff and enrolment codes; return the codes by device name."""
    init = f"branch-provision init --dir /root/branch-B001 --branch-id {BRANCH} --name 示例支行"
    old.run(f"{init} --region-code 110105 --host localhost --pin-stdin", PIN + "\n")
    folder = old.root / "root" / "branch-B001"
    shutil.copytree(cache.folder, folder / "var" / "cache", dirs_exist_ok=True)
    shutil.copy(hq.ca, folder / "hq-ca.crt")
    toml = folder / "hub.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('collector_url = ""', f'collector_url = "{hq.url}"\nca_file = "hq-ca.crt"')
    text = re.sub(r'(?m)^(card_reader|id_reader|magstripe|printer) = ".*"$', r'\1 = "none"', text)
    toml.write_text(text, encoding="utf-8")
    old.install(folder)
    add = "branch-provision staff add --dir /etc/branch-edge w1 --name W --role wealth_manager"
    old.run(f"{add} --pin-stdin", PIN + "\n")
    codes = {}
    for kind, name in (("kiosk", "K1"), ("tablet", "T1")):
        shown = old.run(
            f"branch-provision enroll --dir /etc/branch-edge --kind {kind} --name {name}"
        )
        codes[name] = shown.splitlines()[0].split()[-1]
    return codes


def _tls_of(data: Path, devices: Path) -> TlsEnv:
    """The branch's own PKI as the test harness's (it enrols nothing by itself)."""
    pki = data / "pki"
    devices.mkdir(exist_ok=True)
    ca = load_pem_pair(pki / "ca.crt", pki / "ca.key")
    return TlsEnv(devices, ca, pki / "ca.crt", pki / "hub.crt", pki / "hub.key")


def _options(data: Path) -> HubOptions:
    return HubOptions(cache_dir=data / "cache", poll_interval_s=0.02)


async def _enrol(http: aiohttp.ClientSession, url: str, ca: Path, code: str, out: Path) -> None:
    """Enrol over the real route; the device keeps its key and certificate in `out`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, out.name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    body = {"code": code, "csr": csr.public_bytes(serialization.Encoding.PEM).decode()}
    import ssl

    trust = ssl.create_default_context(cafile=str(ca))
    async with http.post(f"{url}/api/v1/enrol", json=body, ssl=trust) as resp:
        answer = await resp.json()
        assert resp.status == 201, answer
    await asyncio.to_thread(_keep_device, out, answer["certificate"], key)


def _keep_device(out: Path, cert: str, key: ec.EllipticCurvePrivateKey) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "cert.pem").write_text(cert)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (out / "key.pem").write_bytes(pem)
    (out / "key.pem").chmod(0o600)


class Device:
    """An enrolled device's HTTPS calls (its own certificate, the pinned branch CA)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, ca: Path, folder: Path) -> None:
        import ssl

        self.http, self.api = http, f"{url}/api/v1"
        self.ssl = ssl.create_default_context(cafile=str(ca))
        self.ssl.load_cert_chain(str(folder / "cert.pem"), str(folder / "key.pem"))
        self.headers: dict[str, str] = {}

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        async with self.http.post(
            f"{self.api}{path}", json=body, ssl=self.ssl, headers=self.headers
        ) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(f"{self.api}{path}", ssl=self.ssl, headers=self.headers) as r:
            return r.status, await r.json()

    async def login(self) -> int:
        status, body = await self.post("/login", {"staff_id": "w1", "pin": PIN})
        if status == 200:
            self.headers = {"Authorization": f"Bearer {body['token']}"}
        return status


@dataclass
class Floor:
    """The running hub with its kiosk and the wealth manager's tablet."""

    hub: Hub
    kiosk: Device
    tablet: Device

    async def ticket(self, customer: dict[str, Any] | None) -> str:
        """A ticket (for a recognised customer, or a walk-in); its visit id, '' if throttled."""
        session = None
        if customer is not None:
            read = await self.hub.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
            session = read.session_id
        status, issued = await self.kiosk.post(
            "/kiosk/tickets", {"service": "cash", "session_id": session}
        )
        if status == 429:  # the kiosk's ticket budget: 10 at once, then 1 a second
            return ""
        assert status == 201, issued
        return str(self.hub.lobby.visits.visit_of_ticket(issued["ticket"]["id"]))

    async def outcome(self, visit: str, lead: str) -> None:
        """Claim the visit and record a lead outcome (both go to HQ's outbox)."""
        status, body = await self.tablet.post(f"/visits/{visit}/claim", {})
        assert status == 200, body
        outcome = {"outcome": "not_suitable", "note": "下周再联系"}
        status, body = await self.tablet.post(f"/visits/{visit}/leads/{lead}/outcome", outcome)
        assert status == 201, body

    async def serve(self, customer: dict[str, Any]) -> str:
        """A recognised customer's ticket and outcome; the visit id ('' if throttled)."""
        visit = await self.ticket(customer)
        if visit:
            await self.outcome(visit, customer["leads"][0]["lead_id"])
        return visit


async def _keep_writing(
    floor: Floor, customers: list[dict[str, Any]], until: asyncio.Task[Any]
) -> int:
    """Tickets and outcomes while the backup runs (bounded); return how many were recorded."""
    done = 0
    for customer in customers:
        if until.done():
            break
        done += 1 if await floor.serve(customer) else 0
        done += 1 if await floor.ticket(None) else 0
        await asyncio.sleep(0.02)
    return done


async def _backup_while_working(
    old: Machine, codes: dict[str, str], cache: BuiltCache, devices: Path
) -> list[str]:
    """Run the installed hub: enrol, serve customers with HQ down, back up while it writes."""
    config_path = old.etc / "hub.toml"
    config = load_config(config_path)
    tls = _tls_of(old.data, old.root / "harness")
    with_leads = [c for c in cache.customers if c["leads"] and not c["lead_declines"]]
    backup_command = section_commands()[0]
    async with (
        served_hub(config, old.data, tls, _options(old.data), config_path=config_path) as (
            hub,
            url,
        ),
        aiohttp.ClientSession() as http,
    ):
        ca = old.data / "pki" / "ca.crt"
        for name in ("K1", "T1"):
            await _enrol(http, url, ca, codes[name], devices / name)
        kiosk, tablet = Device(http, url, ca, devices / "K1"), Device(http, url, ca, devices / "T1")
        floor = Floor(hub, kiosk, tablet)
        assert await tablet.login() == 200
        visits = [await floor.serve(c) for c in with_leads[:4]]
        assert all(visits)
        assert hub.outbox.stats()["pending"] == 8  # 4 claims, 4 outcomes: HQ unreachable
        backup = asyncio.create_task(asyncio.to_thread(old.run, backup_command))
        written = await _keep_writing(floor, with_leads[4:24], backup)
        await backup
        assert written > 0
    return visits


def _pending(data: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(data / "hub.db")) as db:
        rows = db.execute("SELECT idempotency_key FROM outbox WHERE state = 'pending'")
        return {row[0] for row in rows}


def _at_hq(hq: Hq) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(hq.db)) as db:
        rows = db.execute(
            "SELECT idempotency_key, deliveries FROM events WHERE branch_id = ?", (BRANCH,)
        )
        return dict(rows.fetchall())


async def _restored_hub_works(new: Machine, devices: Path, visits: list[str]) -> None:
    """Old certificates, the staff PIN, the queue and the outbox on the restored machine."""
    config_path = new.etc / "hub.toml"
    config = load_config(config_path)
    tls = _tls_of(new.data, new.root / "harness")
    async with (
        served_hub(config, new.data, tls, _options(new.data), config_path=config_path) as (
            hub,
            url,
        ),
        aiohttp.ClientSession() as http,
    ):
        ca = new.data / "pki" / "ca.crt"
        kiosk, tablet = Device(http, url, ca, devices / "K1"), Device(http, url, ca, devices / "T1")
        floor = Floor(hub, kiosk, tablet)
        assert await tablet.login() == 200  # the tablet's old certificate, the staff PIN
        assert await floor.ticket(None)  # the kiosk's old certificate
        status, body = await tablet.get("/visits?state=all")
        assert status == 200, body
        assert set(visits) <= {v["visit_id"] for v in body["visits"]}
        for _ in range(300):  # bounded: 30 s
            if (await asyncio.to_thread(hub.outbox.stats))["pending"] == 0:
                break
            await asyncio.sleep(0.1)
        assert hub.outbox.stats()["pending"] == 0


def test_the_guide_shows_only_commands_this_drill_runs() -> None:
    commands = section_commands()
    assert [" ".join(c.split()[:2]) for c in commands] == [
        "branch-provision backup",
        "branch-provision restore",
        "branch-provision audit",
    ], commands


def test_a_backup_taken_while_the_hub_works_brings_the_branch_back(
    tmp_path: Path, cache: BuiltCache
) -> None:
    old, new = Machine(tmp_path / "old"), Machine(tmp_path / "new")
    hq = Hq(tmp_path / "hq", {})  # not started yet: HQ is unreachable
    codes = _provision(old, hq, cache)
    passphrase = old.root / "root" / "backup-passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    devices = tmp_path / "devices"
    visits = asyncio.run(_backup_while_working(old, codes, cache, devices))
    backup = old.root / "root" / "B001.backup"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in backup.read_bytes()
    for carried in (backup, passphrase):
        shutil.copy(carried, new.root / "root" / carried.name)
    shutil.rmtree(old.root)  # the old machine is gone

    _, restore, verify = section_commands()
    shown = new.run(restore)
    assert "audit log OK" in shown
    restored = new.root / "root" / "branch-B001"
    assert all(stat.S_IMODE(p.stat().st_mode) in (0o600, 0o700) for p in restored.rglob("*"))
    new.install(restored)  # section 1 step 4, as the guide says
    waiting = _pending(new.data)
    assert len(waiting) >= 8
    hq.branch_keys[BRANCH] = new.data / "outcome_signing.pub"
    with running(hq):
        asyncio.run(_restored_hub_works(new, devices, visits))
        at_hq = _at_hq(hq)
    assert set(at_hq) == waiting  # every waiting event arrived,
    assert set(at_hq.values()) == {1}  # each exactly once
    assert "audit log OK" in new.run(verify)
