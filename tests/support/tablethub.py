"""A real hub (lobby + security + customer cache) on its own thread, for the tablet's tests.

The hub is built as production builds it and served over mutual TLS on loopback; it can be
stopped and started again on the same port and data folder (a hub restart).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import orjson
import requests
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_hub.api import create_app
from branch_hub.api.serve import hub_ssl_context
from branch_hub.config import Station, load_config
from branch_hub.hub import Hub, HubOptions
from branch_hub.security import HubSecurity
from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_cli import write_catalogue_dir
from sync.catalogue_synth import generate_catalogue
from sync.keys import load_hub_private, write_key_pair
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file
from sync.synth_products import CatalogueRef, read_catalogue_refs
from tests.support.hubkit import open_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

PIN = "246810"
STAFF = (
    ("lm1", "大堂经理 Lobby One", "lobby_manager"),
    ("w1", "理财经理 Wealth One", "wealth_manager"),
    ("t1", "柜员 Teller One", "teller"),
)
SAMPLE = Path(__file__).resolve().parents[2] / "branch_hub" / "sample_branch.toml"
CATALOGUE_PRODUCTS, CATALOGUE_ARTICLES, CATALOGUE_SEED = 80, 60, 11
HQ_PUBLIC = "hq_signing.pub"  # beside the hub's data: HQ's key, as branch IT installs it
HQ_CATALOGUE = "hq-catalogue-pub"  # HQ's published catalogue (the hub pulls it by file://)
_T = TypeVar("_T")


def build_cache(root: Path, customers: int = 60) -> list[dict[str, Any]]:
    """Synthetic HQ export -> signed bundle -> pulled cache at root/cache (with its key)."""
    cache_dir = root / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_key_pair("hub", cache_dir / "hub_sync.key", root / "hub_sync.pub")
    hub_key = load_hub_private(cache_dir / "hub_sync.key")
    export = root / "export.jsonl"
    hq = Ed25519PrivateKey.generate()
    refs = publish_test_catalogue(root, hq)
    write_export_file(
        SynthOptions(customers=customers, seed=8, as_of=date.today(), catalogue=refs),
        export,
        workers=1,
        progress=False,
    )
    config = load_config(SAMPLE)
    publish(
        export, hub_key.public_key(), hq, root / "pub", config.branch.id, workers=1, progress=False
    )
    pull(
        (root / "pub").as_uri(),
        cache_dir,
        hq_public=hq.public_key(),
        hub_key=hub_key,
        branch_id=config.branch.id,
        progress=False,
    )
    rows = [orjson.loads(line) for line in export.read_bytes().splitlines()]
    export.unlink()  # the plaintext export must not linger where the hygiene test searches
    return rows


def publish_test_catalogue(root: Path, hq: Ed25519PrivateKey) -> tuple[CatalogueRef, ...]:
    """HQ's synthetic catalogue signed into root/HQ_CATALOGUE, HQ's public key in root/HQ_PUBLIC;
    returns the products the export's leads may name."""
    catalogue = generate_catalogue(
        CATALOGUE_PRODUCTS, CATALOGUE_ARTICLES, seed=CATALOGUE_SEED, as_of=date.today()
    )
    write_catalogue_dir(catalogue, root / "hq-catalogue-source")
    publish_catalogue(catalogue, hq, root / HQ_CATALOGUE)
    public = hq.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (root / HQ_PUBLIC).write_bytes(public)
    return read_catalogue_refs(root / "hq-catalogue-source")


def _with_catalogue(config: Any, data: Path) -> Any:
    """The sample branch, pulling HQ's catalogue when the test published one."""
    if not (data / HQ_PUBLIC).exists():
        return config
    update = {
        "catalogue_url": (data / HQ_CATALOGUE).as_uri() + "/",
        "signing_public_key": str(data / HQ_PUBLIC),
    }
    return config.model_copy(update={"hq": config.hq.model_copy(update=update)})


async def _catalogue_applied(hub: Hub) -> None:
    """Wait (at most 30 s) until the hub serves the catalogue it pulls at start."""
    for _ in range(600):
        if hub.catalogue.facts() is not None or not hub.catalogue.settings.url:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the hub did not apply the test catalogue")


async def _in_loop(fn: Callable[[], _T]) -> _T:
    return fn()


@dataclass
class TabletHub:
    """A hub on a background thread; `call` runs a coroutine on its loop."""

    data: Path
    tls: TlsEnv
    port: int = 0
    desk: bool = False  # a staff desk D1 with a simulated ID reader beside kiosk K1
    hub: Hub | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The hub's https address."""
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> TabletHub:
        """Start (or restart) the hub on its thread."""
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._up())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._down())
            loop.close()

        self._thread = threading.Thread(target=main, name="tablet-test-hub", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("hub did not start")
        return self

    async def _up(self) -> None:
        config = _with_catalogue(load_config(SAMPLE), self.data)
        if self.desk:
            config = _with_desk(config)
        hub = open_hub(config, self.data, self.tls, HubOptions(cache_dir=self.data / "cache"))
        if not hub.security.staff.list():
            for staff_id, name, role in STAFF:
                hub.security.staff.add(staff_id, name, role, PIN)
        self._runner = web.AppRunner(create_app(hub))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=hub_ssl_context(hub))
        await site.start()
        self.port = self._runner.addresses[0][1]
        await hub.start()
        await _catalogue_applied(hub)
        self.hub = hub

    async def _down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self.hub is not None:
            await self.hub.close()

    @property
    def _sec(self) -> HubSecurity:
        assert self.hub is not None
        return self.hub.security

    def stop(self) -> None:
        """Stop the hub (its data stays for a restart)."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
        self._loop = self._thread = None

    def call(self, coro: Awaitable[_T]) -> _T:
        """Run a coroutine on the hub's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)  # type: ignore[arg-type]

    def folder_kiosk(self) -> tuple[Path, Path]:
        """Kiosk K1's certificate files, registered with the hub's device registry."""
        cert_path, key_path = self.tls.folder / "K1.crt", self.tls.folder / "K1.key"
        if not cert_path.exists():
            cert_path, key_path = self.tls.client("K1", "kiosk")
            from cryptography import x509

            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            self._sec.devices.register("K1", "kiosk", cert)
        return cert_path, key_path

    def revoke(self, device_id: str) -> None:
        """Revoke a device the way `branch-provision revoke` does (closes its connections)."""
        security = self._sec
        self.call(security.revoke(device_id))

    def drop_connections(self, device_id: str) -> int:
        """Cut a device's open connections without ending its session (a Wi-Fi drop)."""
        security = self._sec
        return self.call(_in_loop(lambda: security.connections.close_device(device_id)))

    # -- helpers that play the other devices -------------------------------------------------
    def enrolment_code(self, device_id: str, kind: str = "tablet") -> str:
        """A one-time enrolment code, as `branch-provision` would print it."""
        return self._sec.codes.create(device_id, kind)

    def kiosk(self) -> requests.Session:
        """An HTTP session with kiosk K1's certificate (registered on first use)."""
        cert, key = self.folder_kiosk()
        session = requests.Session()
        session.trust_env = False
        session.cert = (str(cert), str(key))
        session.verify = str(self.tls.ca_path)
        return session

    def arrive(self, pan: str | None, service: str = "wealth") -> dict[str, Any]:
        """A customer dips a card (or not) at K1 and takes a ticket; returns the ticket answer."""
        assert self.hub is not None
        session_id = None
        if pan is not None:
            session = self.call(self.hub.lobby.identify("K1", "pan", pan, "chip"))
            session_id = session.session_id
        with self.kiosk() as http:
            answer = http.post(
                f"{self.url}/api/v1/kiosk/tickets",
                json={"service": service, "session_id": session_id},
                timeout=10,
            )
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body


def pitchable(hub: TabletHub, row: dict[str, Any], first: int = 1) -> bool:
    """True when the brief will offer `first` leads or more and the hub finds none of its first
    `first` leads (best score first, as the brief lists them) unsuitable for the customer."""
    from branch_hub.briefs import judge_lead, sort_leads

    facts = hub.hub.catalogue.facts() if hub.hub is not None else None
    assessment, today = row.get("risk_assessment"), date.today()
    leads = sort_leads(row["leads"], today)[:first]
    return (
        len(leads) == first
        and not row.get("lead_declines")
        and all(
            judge_lead(lead, facts, assessment, today).not_suitable_reason is None for lead in leads
        )
    )


def _with_desk(config: Any) -> Any:
    """The branch with desk D1 (a simulated ID reader) for identifying walk-ins."""
    desk = Station(id="D1", role="desk", id_reader="sim://idreader")
    return config.model_copy(update={"stations": [*config.stations, desk]})


def make_hub(
    root: Path, customers: int = 60, desk: bool = False
) -> tuple[TabletHub, list[dict[str, Any]]]:
    """PKI, cache and a started hub under `root` (with desk D1 when `desk`)."""
    tls = make_tls_env(root / "pki")
    data = root / "hub"
    data.mkdir(parents=True, exist_ok=True)
    rows = build_cache(data, customers)
    return TabletHub(data, tls, desk=desk).start(), rows
