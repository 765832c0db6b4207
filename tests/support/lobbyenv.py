"""A hub with its lobby on loopback TLS: a small encrypted cache, simulated station devices."""

from __future__ import annotations

import contextlib
import shutil
import ssl
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from branch_hub.config import BranchConfig, parse_config
from branch_hub.hub import Hub, HubOptions
from branch_hub.lobby import Lobby
from branch_hub.security import HubSecurity
from branch_hub.security.errors import StaffError
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file
from tests.support.hubkit import served_hub
from tests.support.tlsenv import TlsEnv

BRANCH = "BJ-CY-0105"
# name -> (staff id, role, device kind); each logs in on its own device (one session per device)
STAFF_PIN = "580213"
STAFF = {
    "lobby": ("S-LOBBY", "lobby_manager", "tablet"),
    "wealth": ("S-WEALTH", "wealth_manager", "tablet"),
    "teller": ("S-TELLER", "teller", "counter"),
    "account": ("S-ACCOUNT", "account_manager", "tablet"),
}


@dataclass
class BuiltCache:
    """A cache folder (with its hub key) and the synthetic export behind it."""

    folder: Path
    customers: list[dict[str, Any]]


def build_cache(
    root: Path,
    customers: int = 200,
    seed: int = 5,
    tweak: Callable[[dict[str, Any]], None] | None = None,
) -> BuiltCache:
    """Synthesise, publish and pull a customer cache for the sample branch (`tweak` edits each
    synthetic customer before the publish)."""
    export = root / "export.jsonl"
    write_export_file(
        SynthOptions(customers=customers, seed=seed, region_code="110105", as_of=date.today()),
        export,
        workers=1,
        progress=False,
    )
    if tweak is not None:
        edited = [orjson.loads(line) for line in export.read_bytes().splitlines()]
        for customer in edited:
            tweak(customer)
        export.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in edited))
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    publish(export, hub.public_key(), hq, root / "pub", BRANCH, workers=1, progress=False)
    cache = root / "cache"
    pull(
        (root / "pub").as_uri(),
        cache,
        hq_public=hq.public_key(),
        hub_key=hub,
        branch_id=BRANCH,
        progress=False,
    )
    (cache / "hub_sync.key").write_bytes(
        hub.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    rows = [orjson.loads(line) for line in export.read_bytes().splitlines()]
    return BuiltCache(cache, rows)


def branch_config(**station: str) -> BranchConfig:
    """The sample branch with one station K1 whose devices are given (default: none)."""
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    data["stations"] = [
        {
            "id": "K1",
            "card_reader": station.get("card_reader", "none"),
            "id_reader": station.get("id_reader", "none"),
            "magstripe": station.get("magstripe", "none"),
            "printer": station.get("printer", "none"),
        }
    ]
    if "timeout" in station:
        data["hub"]["kiosk_session_timeout_s"] = float(station["timeout"])
    return parse_config(data)


@dataclass
class RunningHub:
    """A hub serving on loopback."""

    hub: Hub
    url: str
    tls: TlsEnv
    _streams: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def security(self) -> HubSecurity:
        """The hub's security stores."""
        return self.hub.security

    def staff(self, name: str) -> tuple[ssl.SSLContext, dict[str, str]]:
        """A logged-in staff member's device TLS context and Authorization header."""
        staff_id, role, kind = STAFF[name]
        device = f"{kind[:3].upper()}-{name}"
        token = self.security.sessions.create(staff_id, role, name, device)
        return self.tls.client_context(device, kind), {"Authorization": f"Bearer {token}"}

    def stream(self, name: str = "lobby") -> dict[str, Any]:
        """ws_connect keywords for the staff event stream (it needs a logged-in staff member)."""
        # Its own device, made once: a second login or certificate on the device that also
        # makes REST calls would end that session (one session and one certificate per device).
        if name not in self._streams:
            staff_id, role, kind = STAFF[name]
            device = f"STR-{name}"
            token = self.security.sessions.create(staff_id, role, name, device)
            self._streams[name] = {
                "ssl": self.tls.client_context(device, kind),
                "headers": {"Authorization": f"Bearer {token}"},
            }
        return self._streams[name]

    @property
    def lobby(self) -> Lobby:
        """The lobby."""
        return self.hub.lobby


def _prepare(data: Path, cache_dir: Path, cache: BuiltCache | None) -> None:
    data.mkdir(parents=True, exist_ok=True)
    if cache is not None and not cache_dir.exists():
        shutil.copytree(cache.folder, cache_dir)


def add_staff(security: HubSecurity) -> None:
    """The branch's test staff (PIN 580213), once per data folder."""
    for staff_name, (staff_id, role, _kind) in STAFF.items():
        with contextlib.suppress(StaffError):  # already there after a restart on the same data
            security.staff.add(staff_id, staff_name, role, STAFF_PIN)


@asynccontextmanager
async def running_hub(
    data: Path,
    tls: TlsEnv,
    config: BranchConfig,
    cache: BuiltCache | None,
) -> AsyncIterator[RunningHub]:
    """Start a hub with its lobby over TLS, built as production builds it."""
    cache_dir = data / "cache"
    _prepare(data, cache_dir, cache)
    options = HubOptions(cache_dir=cache_dir, poll_interval_s=0.02)
    async with served_hub(config, data, tls, options) as (hub, url):
        add_staff(hub.security)
        yield RunningHub(hub, url, tls)
