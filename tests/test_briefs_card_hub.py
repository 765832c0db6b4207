"""The card fields travel HQ export -> sealed bundle -> cache -> brief over TLS, per role."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.briefs import COUNTER_BENEFITS
from branch_hub.client.models import Brief
from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.pii_scan import card_needles, scan_bytes
from tests.support.tlsenv import make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    # 600 customers: enough for one holding wealth products whom HQ flagged as leaving.
    return build_cache(tmp_path_factory.mktemp("card-cache"), customers=600)


def _card_customer(cache: BuiltCache) -> dict[str, Any]:
    """A customer holding wealth products (so assessed) whom HQ flagged as leaving."""
    return next(
        c
        for c in cache.customers
        if c["risk_assessment"] and (c["attrition_risk"] or {}).get("flag")
    )


async def _scenario(run: Any, customer: dict[str, Any]) -> dict[str, Any]:
    kiosk = run.tls.client_context("K1", "kiosk")
    session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{run.url}/api/v1/kiosk/tickets",
            json={"service": "cash", "session_id": session.session_id},
            ssl=kiosk,
        ) as resp:
            assert resp.status == 201
        ssl, headers = run.staff("lobby")
        async with http.get(
            f"{run.url}/api/v1/visits?state=waiting", ssl=ssl, headers=headers
        ) as resp:
            visit_id = (await resp.json())["visits"][0]["visit_id"]
        for who in ("wealth", "teller", "lobby"):
            ssl, headers = run.staff(who)
            async with http.get(
                f"{run.url}/api/v1/visits/{visit_id}/brief", ssl=ssl, headers=headers
            ) as resp:
                assert resp.status == 200
                out[who] = await resp.json()
        async with http.ws_connect(f"{run.url}/api/v1/events?since=0", **run.stream()) as ws:
            async with asyncio.timeout(10):
                while (msg := await ws.receive_json()).get("kind") != "arrival":
                    pass
            out["arrival"] = msg
    return out


def test_wealth_manager_gets_the_card_fields_and_the_teller_does_not(
    tmp_path: Path, cache: BuiltCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = _card_customer(cache)
    tls = make_tls_env(tmp_path / "pki")

    async def main() -> dict[str, Any]:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            return await _scenario(run, customer)

    got = asyncio.run(main())
    wealth = Brief.from_wire(got["wealth"])
    risk = customer["risk_assessment"]
    assert wealth.risk_assessment is not None
    assert (wealth.risk_assessment.level, wealth.risk_assessment.expires) == (
        risk["level"],
        risk["expires"],
    )
    assert wealth.products is not None
    assert wealth.products.to_wire() == customer["products"]
    assert wealth.benefits == tuple(customer["benefits"])
    assert wealth.attrition is not None
    assert wealth.attrition.reason == customer["attrition_risk"]["reason"]
    assert wealth.aum_band == customer["aum_band"]

    teller = Brief.from_wire(got["teller"])
    assert (teller.risk_assessment, teller.products, teller.attrition, teller.aum_band) == (
        None,
        None,
        None,
        None,
    )
    assert teller.benefits == tuple(b for b in customer["benefits"] if b in COUNTER_BENEFITS)
    teller_text = json.dumps(got["teller"], ensure_ascii=False)
    for code in [*customer["products"]["funds"], risk["expires"], customer["aum_band"]]:
        assert code not in teller_text

    lobby = Brief.from_wire(got["lobby"])
    assert lobby.attrition is not None
    assert (lobby.attrition.flag, lobby.attrition.reason) == (True, None)
    assert lobby.products is None

    # The arrival event carries the summary only: none of the card fields' values.
    arrival = json.dumps(got["arrival"], ensure_ascii=False)
    for value in [customer["aum_band"], f'"{risk["level"]}"', *customer["benefits"]]:
        assert value not in arrival
    assert customer["attrition_risk"]["reason"] not in arrival
    # Nor are they logged, at any level.
    assert scan_bytes(caplog.text.encode("utf-8"), card_needles([customer])) == []
