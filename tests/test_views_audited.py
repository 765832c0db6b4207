"""Every view of customer data is audited: kiosk identifications and the lobby list too.

The lobby list (`GET /api/v1/visits`) shows every visitor's salutation and tier to a tablet, and
a kiosk read turns a card into a customer; both now leave an entry in the hash-chained audit log
(the brief view and staff actions already did).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("views-cache"), customers=40)


def test_identification_and_lobby_list_are_audited(tmp_path: Path, cache: BuiltCache) -> None:
    customer = next(c for c in cache.customers if c["cards"])
    tls = make_tls_env(tmp_path / "pki")

    async def scenario() -> list[tuple[str, str | None, str | None, str | None]]:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
            async with aiohttp.ClientSession() as http:
                kiosk = tls.client_context("K1", "kiosk")
                body = {"service": "cash", "session_id": session.session_id}
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk
                ) as resp:
                    assert resp.status == 201
                ssl, headers = run.staff("lobby")
                async with http.get(
                    f"{run.url}/api/v1/visits?state=all", ssl=ssl, headers=headers
                ) as resp:
                    assert resp.status == 200
                    assert len((await resp.json())["visits"]) == 1
            run.hub.audit.flush(10)
            return [
                (e.action, e.device_id, e.staff_id, e.customer_id) for e in run.hub.audit.entries()
            ]

    entries = asyncio.run(scenario())
    assert ("identification", "K1", None, customer["customer_id"]) in entries
    assert ("lobby_list_view", "TAB-lobby", "S-LOBBY", None) in entries
