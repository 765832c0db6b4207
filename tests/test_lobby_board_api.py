"""The lobby board over TLS: its read for managers only, and its alerts on the staff stream.

The board's clock is moved forward instead of sleeping: a wealth customer left unclaimed past
`lobby.unclaimed_alert_s`, then past the wealth tier's wait target, raises each alert once; a
claim clears the first. No alert or answer carries the customer's name or id.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("board-cache"), customers=200)


async def _alerts(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    """The next `count` hub_alert events (other events are skipped)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        message = await asyncio.wait_for(ws.receive_json(), timeout=10)
        if message.get("kind") == "hub_alert":
            found.append(message["data"])
    return found


def test_the_board_counts_waits_and_alerts_on_unclaimed_and_late(
    tmp_path: Path, cache: BuiltCache
) -> None:
    tls: TlsEnv = make_tls_env(tmp_path / "pki")
    vip = next(c for c in cache.customers if c["tier"] == "wealth")

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            later = datetime.now(UTC)
            run.hub.board.clock = lambda: later
            kiosk = tls.client_context("K1", "kiosk")
            async with aiohttp.ClientSession() as http:

                async def call(method: str, path: str, who: str) -> tuple[int, Any]:
                    ssl, headers = run.staff(who)
                    url = f"{run.url}/api/v1{path}"
                    async with http.request(method, url, ssl=ssl, headers=headers) as resp:
                        return resp.status, await resp.json()

                session = await run.lobby.identify("K1", "pan", vip["cards"][0]["pan"])
                body = {"service": "wealth", "session_id": session.session_id}
                async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as r:
                    ticket = (await r.json())["ticket"]
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets", json={"service": "cash"}, ssl=kiosk
                ) as r:
                    assert r.status == 201
                await run.lobby.alert("K1", "printer", "paper_low")

                status, board = await call("GET", "/lobby/board", "lobby")
                assert status == 200
                assert board["waiting"]["wealth"] == 1
                assert board["waiting"]["cash"] == 1
                tiers = {t["tier"]: t for t in board["tiers"]}
                assert tiers["wealth"]["waiting"] == 1
                assert tiers["walk_in"]["waiting"] == 1
                assert tiers["wealth"]["target_s"] == 600
                assert tiers["wealth"]["over_target"] == 0
                [unclaimed] = board["unclaimed"]
                assert (unclaimed["ticket"], unclaimed["alert"]) == (ticket["number"], False)
                assert board["devices"] == [
                    {"station": "K1", "device": "printer", "condition": "paper_low"}
                ]
                assert board["hq"]["link"] == "off"
                assert board["cache"]["sequence"] > 0
                assert board["counters_open"] >= 0
                assert board["alerts"] == []
                status, refused = await call("GET", "/lobby/board", "teller")
                assert (status, refused["error"]["code"]) == (403, "role_forbidden")

                async with http.ws_connect(f"{run.url}/api/v1/events", **run.stream()) as ws:
                    later += timedelta(seconds=130)
                    await run.hub.board.check()
                    [raised] = await _alerts(ws, 1)
                    assert raised["alert"] == "priority_unclaimed"
                    assert not raised["cleared"]
                    assert ticket["number"] in raised["message_zh"]
                    assert "财富客户" in raised["message_zh"]
                    await run.hub.board.check()  # still up: announced once only

                    later += timedelta(seconds=600)
                    await run.hub.board.check()
                    [late] = await _alerts(ws, 1)
                    assert (late["alert"], late["key"]) == (
                        "wait_over_target",
                        "wait_over_target:wealth",
                    )
                    status, board = await call("GET", "/lobby/board", "lobby")
                    assert {a["alert"] for a in board["alerts"]} == {
                        "priority_unclaimed",
                        "wait_over_target",
                    }
                    assert board["unclaimed"][0]["alert"] is True

                    vid = board["unclaimed"][0]["visit_id"]
                    assert (await call("POST", f"/visits/{vid}/claim", "wealth"))[0] == 200
                    await run.hub.board.check()
                    [cleared] = await _alerts(ws, 1)
                    assert cleared["alert"] == "priority_unclaimed"
                    assert cleared["cleared"]

                    text = json.dumps(board, ensure_ascii=False)
                    assert vip["customer_id"] not in text
                    assert vip["name"] not in text

    asyncio.run(scenario())
