"""After whole arrivals, briefs, claims, notes, hand-offs and lead outcomes, nothing the hub wrote
or logged names a customer: no name, resident ID number or card number in any encoding."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from drivers.sim.magstripe import card_swipe
from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.pii_scan import card_needles, needles, scan_bytes, scan_tree
from tests.support.tlsenv import make_tls_env

SIMS = {"id_reader": "sim://idreader", "magstripe": "sim://magstripe", "printer": "sim://printer"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("privacy-cache"), customers=120, seed=11)


async def _kiosk_session(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive_json()
            if msg["kind"] == "kiosk.session" and msg["data"].get("state") not in (
                None,
                "idle",
                "reading",
            ):
                return dict(msg["data"])


def test_arrival_to_outcome_leaves_no_personal_data(
    tmp_path: Path, cache: BuiltCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with_leads = [
        c for c in cache.customers if c["leads"] and c["cards"] and not c["lead_declines"]
    ]
    by_card, by_id = with_leads[0], with_leads[1]
    tls = make_tls_env(tmp_path / "pki")
    data = tmp_path / "hub"

    async def scenario() -> None:
        async with running_hub(data, tls, branch_config(**SIMS), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            lobby_ssl, lobby_auth = run.staff("lobby")
            wealth_ssl, wealth_auth = run.staff("wealth")
            sims = run.lobby.stations["K1"].sims
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws,
            ):
                await kws.receive_json()
                visits = []
                for customer in (by_card, by_id):
                    if customer is by_card:
                        sims["magstripe"].swipe(card_swipe(customer["cards"][0]["pan"], "3012"))
                    else:
                        sims["idreader"].place(0, id_number=customer["id_number"])
                    session = await _kiosk_session(kws)
                    assert session["state"] == "recognised"
                    async with http.post(
                        f"{run.url}/api/v1/kiosk/tickets",
                        json={"service": "wealth", "session_id": session["session_id"]},
                        ssl=kiosk,
                    ) as resp:
                        assert resp.status == 201, await resp.text()
                        ticket = (await resp.json())["ticket"]
                    visits.append((customer, run.lobby.visits.visit_of_ticket(ticket["id"])))
                    if customer is by_id:
                        sims["idreader"].remove()
                for customer, visit in visits:
                    base = f"{run.url}/api/v1/visits/{visit}"
                    for path, body in (
                        ("/claim", None),
                        ("/notes", {"text": "客户想了解养老金产品，已约下周二面谈"}),
                        ("/handoff", {"to_role": "wealth_manager", "note": "请跟进理财需求"}),
                    ):
                        async with http.post(
                            base + path, json=body, ssl=lobby_ssl, headers=lobby_auth
                        ) as resp:
                            assert resp.status < 300, (path, await resp.text())
                    async with http.get(
                        base + "/brief", ssl=wealth_ssl, headers=wealth_auth
                    ) as resp:
                        assert resp.status == 200
                    lead = customer["leads"][0]["lead_id"]
                    async with http.post(
                        f"{base}/leads/{lead}/outcome",
                        json={"outcome": "not_suitable", "note": "下周回电"},
                        ssl=wealth_ssl,
                        headers=wealth_auth,
                    ) as resp:
                        assert resp.status < 300, await resp.text()
            assert run.hub.outbox.stats()["pending"] > 0  # the records for HQ were queued

    asyncio.run(scenario())
    words = needles([by_card, by_id]) + card_needles([by_card, by_id])
    # Control: the same search finds every word in HQ's plaintext export, so silence below means
    # absence, not a search that cannot see.
    export = (cache.folder.parent / "export.jsonl").read_bytes()
    assert {word for word, _ in scan_bytes(export, words)} == set(words)
    hits = [hit for hit in scan_tree(data, words) if "/cache/" not in hit[0]]
    # The cache is sealed too; scan it separately so a hit there names the right culprit.
    cache_hits = scan_tree(data / "cache", words)
    assert hits == []
    assert cache_hits == []
    assert scan_bytes(caplog.text.encode("utf-8"), words) == []
    assert (data / "hub.db").exists()
