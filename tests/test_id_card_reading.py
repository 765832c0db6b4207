"""An ID card on the reader shows "reading" at once; a known ID card and passbook are recognised.

The hub with the station's pty simulators (ID reader, stripe reader, printer; no chip reader,
so no pcscd): the kiosk's live messages must say `card_sensed` and a `reading` session before
the recognised one, exactly as a chip card insert does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from drivers.sim.magstripe import passbook_swipe
from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env

SIMS = {"id_reader": "sim://idreader", "magstripe": "sim://magstripe", "printer": "sim://printer"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("id-reading-cache"))


async def _until_settled(ws: aiohttp.ClientWebSocketResponse) -> list[tuple[str, Any]]:
    """Kiosk messages up to the first session that is no longer `reading` (10 s at most)."""
    seen: list[tuple[str, Any]] = []
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive_json()
            state = msg["data"].get("state") if msg["kind"] == "kiosk.session" else None
            seen.append((msg["kind"], state))
            if state in ("recognised", "walk_in", "read_failed"):
                return seen


def test_an_id_card_shows_reading_then_a_known_id_and_passbook_are_recognised(
    tmp_path: Path, cache: BuiltCache
) -> None:
    tls = make_tls_env(tmp_path / "pki")
    person = next(c for c in cache.customers if c["id_number"] and c["passbooks"])

    async def scenario() -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        async with running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            sims = run.lobby.stations["K1"].sims
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as ws,
            ):
                assert (await ws.receive_json())["data"] == {"state": "idle"}
                sims["idreader"].place(
                    0,
                    name=person["name"],
                    gender=person["gender"],
                    birth=person["birth_date"],
                    id_number=person["id_number"],
                )
                by_id = await _until_settled(ws)
                sims["idreader"].remove()
                async with http.post(f"{run.url}/api/v1/kiosk/session/end", ssl=kiosk) as resp:
                    assert resp.status in (200, 204)
                sims["magstripe"].swipe(passbook_swipe(person["passbooks"][0]["account"]))
                by_passbook = await _until_settled(ws)
            return by_id, by_passbook

    by_id, by_passbook = asyncio.run(scenario())
    assert by_id[:2] == [("kiosk.card_sensed", None), ("kiosk.session", "reading")], by_id
    assert by_id[-1] == ("kiosk.session", "recognised"), by_id
    assert by_passbook[-1] == ("kiosk.session", "recognised"), by_passbook
