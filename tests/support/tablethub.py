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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_hub.api import create_app
from branch_hub.api.serve import hub_ssl_context
from branch_hub.config import load_config
from branch_hub.hub import Hub, HubOptions
from branch_hub.security import HubSecurity
from sync.keys import load_hub_private, write_key_pair
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file
from tests.support.hubkit import open_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

PIN = "246810"
STAFF = (
    ("lm1", "大堂经理 Lobby One", "lobby_manager"),
    ("w1", "理财经理 Wealth One", "wealth_manager"),
    ("t1", "柜员 Teller One", "teller"),
)
SAMPLE = Path(__file__).resolve().parents[2] / "branch_hub" / "sample_branch.toml"
_T = TypeVar("_T")


def build_cache(root: Path, customers: int = 60) -> list[dict[str, Any]]:
    """Synthetic HQ export -> signed bundle -> pulled cache at root/cache (with its key)."""
    cache_dir = root / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_key_pair("hub", cache_dir / "hub_sync.key", root / "hub_sync.pub")
    hub_key = load_hub_private(cache_dir / "hub_sync.key")
    export = root / "export.jsonl"
    write_export_file(
        SynthOptions(customers=customers, seed=8, as_of=date.today()),
        export,
        workers=1,
        progress=False,
    )
    hq = Ed25519PrivateKey.generate()
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


async def _in_loop(fn: Callable[[], _T]) -> _T:
    return fn()


@dataclass
class TabletHub:
    """A hub on a background thread; `call` runs a coroutine on its loop."""

    data: Path
    tls: TlsEnv
    port: int = 0
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
        config = load_config(SAMPLE)
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
            session = self.call(self.hub.lobby.identify("K1", "pan", pan))
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


def make_hub(root: Path, customers: int = 60) -> tuple[TabletHub, list[dict[str, Any]]]:
    """PKI, cache and a started hub under `root`."""
    tls = make_tls_env(root / "pki")
    data = root / "hub"
    data.mkdir(parents=True, exist_ok=True)
    rows = build_cache(data, customers)
    return TabletHub(data, tls).start(), rows
