"""The real hub (server + lobby + queue + cache) with a simulated kiosk station, on a thread.

Station K1 reads bank cards through pcscd + vpcd (virtual cards from drivers.sim.card) and has
the pty ticket printer simulator (sim://), and the ID card and stripe reader simulators when the
config asks for them; the
customer cache is built from synthetic HQ data by the real publisher and puller.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from branch_hub.api import create_app
from branch_hub.api.serve import hub_ssl_context
from branch_hub.config import BranchConfig, parse_config
from branch_hub.hub import Hub, HubOptions
from tests.support.hub_thread import LoopThreadServer
from tests.support.hubkit import open_hub
from tests.support.tlsenv import TlsEnv


def build_cache(root: Path, branch_id: str, customers: int = 60) -> list[dict[str, Any]]:
    """Publish synthetic customers for the branch and pull them into root/cache (with its key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.keys import load_hub_private, write_key_pair
    from sync.publisher import publish
    from sync.puller import pull
    from sync.synth import SynthOptions, write_export_file

    root.mkdir(parents=True, exist_ok=True)
    export = root / "export.jsonl"
    write_export_file(
        SynthOptions(customers=customers, seed=7, as_of=date(2026, 11, 1)),
        export,
        workers=1,
        progress=False,
    )
    cache = root / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    write_key_pair("hub", cache / "hub_sync.key", cache / "hub_sync.pub")
    hub_key = load_hub_private(cache / "hub_sync.key")
    hq = Ed25519PrivateKey.generate()
    publish(export, hub_key.public_key(), hq, root / "pub", branch_id, workers=1, progress=False)
    pull(
        (root / "pub").as_uri(),
        cache,
        hq_public=hq.public_key(),
        hub_key=hub_key,
        branch_id=branch_id,
        progress=False,
    )
    return [orjson.loads(line) for line in export.read_bytes().splitlines()]


# The second vpcd reader: most other tests use "Virtual PCD 00 00", and pcscd/vpcd are shared by
# every process on the machine, so the kiosk tests keep out of their way.
KIOSK_READER = "Virtual PCD 00 01"
KIOSK_READER_PORT = 35964  # vpcd's port for reader 00 01


def kiosk_config(
    card_reader: str = f"pcsc://{KIOSK_READER}", id_reader: str = "none", magstripe: str = "none"
) -> BranchConfig:
    """The sample branch with station K1: vpcd card reader and pty printer; the ID reader
    (`sim://idreader`) and stripe reader (`sim://magstripe`) when asked for."""
    text = (resources.files("branch_hub") / "sample_branch.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data["stations"] = [
        {
            "id": "K1",
            "card_reader": card_reader,
            "id_reader": id_reader,
            "magstripe": magstripe,
            "printer": "sim://printer",
        }
    ]
    return parse_config(data, "kiosk test config")


@dataclass
class _Running:
    hub: Hub
    runner: web.AppRunner


class RealKioskHub(LoopThreadServer):
    """Start/stop the real hub app on 127.0.0.1 (the same port after a restart)."""

    call_timeout_s = 20.0

    def __init__(
        self,
        data: Path,
        tls: TlsEnv,
        config: BranchConfig | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.data = data
        self.cache_dir = cache_dir
        self.tls = tls
        self.config = config or kiosk_config()
        self.running: _Running | None = None
        super().__init__()

    @property
    def is_running(self) -> bool:
        """True between start and stop."""
        return self.running is not None

    @property
    def lobby(self) -> Any:
        """The running lobby."""
        assert self.running is not None
        return self.running.hub.lobby

    def sim(self, name: str) -> Any:
        """A simulator of station K1 ('idreader', 'magstripe' or 'printer')."""
        return self.lobby.stations["K1"].sims[name]

    async def _start(self) -> None:
        hub = open_hub(
            self.config,
            self.data,
            self.tls,
            HubOptions(cache_dir=self.cache_dir or self.data / "cache", poll_interval_s=0.05),
        )
        runner = web.AppRunner(create_app(hub), shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(
            runner, "127.0.0.1", self.port, ssl_context=hub_ssl_context(hub), reuse_address=True
        )
        await site.start()
        self.port = runner.addresses[0][1]
        await hub.start()
        self.running = _Running(hub, runner)

    async def _stop(self) -> None:
        running, self.running = self.running, None
        if running is None:
            return
        await running.runner.cleanup()
        await running.hub.close()
