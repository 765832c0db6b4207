"""Someone who copies hub.db finds no customer tier: tiered tickets are issued over TLS, then the
database file, its WAL and its shared memory are read byte by byte."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from drivers.sim.magstripe import card_swipe
from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env

SIMS = {"id_reader": "sim://idreader", "magstripe": "sim://magstripe", "printer": "sim://printer"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("tier-cache"))


async def _session(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive_json()
            state = msg["data"].get("state")
            if msg["kind"] == "kiosk.session" and state not in (None, "idle", "reading"):
                return dict(msg["data"])


def _hub_files(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(data.glob("hub.db*")) if p.is_file()}


def test_issued_tiered_tickets_leave_no_tier_in_the_database_files(
    tmp_path: Path, cache: BuiltCache
) -> None:
    # Priority tiers; the tickets are for "cash", so no service code spells a tier either.
    customers = [c for c in cache.customers if c["tier"] in {"wealth", "private"}][:3]
    tiers = {c["tier"].encode() for c in customers}
    assert len(customers) == 3
    tls = make_tls_env(tmp_path / "pki")
    data = tmp_path / "hub"

    async def scenario() -> None:
        async with running_hub(data, tls, branch_config(**SIMS), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws,
            ):
                await kws.receive_json()
                for customer in customers:
                    swipe = card_swipe(customer["cards"][0]["pan"], "3012")
                    run.lobby.stations["K1"].sims["magstripe"].swipe(swipe)
                    session = await _session(kws)
                    assert session["greeting"]["priority"] is True
                    async with http.post(
                        f"{run.url}/api/v1/kiosk/tickets",
                        json={"service": "cash", "session_id": session["session_id"]},
                        ssl=kiosk,
                    ) as resp:
                        assert resp.status == 201, await resp.text()
                files = _hub_files(data)  # while the hub runs: the WAL holds the newest pages
                assert "hub.db-wal" in files
                for name, content in files.items():
                    assert not [t for t in tiers if t in content], name
                    assert b'"tier":' not in content, name

    asyncio.run(scenario())
    for name, content in _hub_files(data).items():
        assert not [t for t in tiers if t in content], name
    db = sqlite3.connect(data / "hub.db")
    try:
        rows = db.execute("SELECT priority, tier FROM tickets").fetchall()
    finally:
        db.close()
    assert rows == [(1, None)] * len(customers)  # the priority class is kept, the tier is not
