"""Staff operations over TLS: visits, claims, notes, hand-offs, lead outcomes, the queue, roles."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("staff-cache"))


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


def test_staff_operations_push_their_events(tmp_path: Path, tls: TlsEnv, cache: BuiltCache) -> None:
    customer = next(
        c
        for c in cache.customers
        if c["tier"] == "wealth" and c["leads"] and not c["lead_declines"]
    )

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            tablet = tls.client_context("T1", "tablet")

            async with aiohttp.ClientSession() as http:
                logins = {
                    name: run.staff(name) for name in ("lobby", "wealth", "teller", "account")
                }

                async def call(method: str, path: str, who: str, **kw: Any) -> tuple[int, Any]:
                    ssl, headers = logins[who]
                    async with http.request(
                        method, f"{run.url}/api/v1{path}", ssl=ssl, headers=headers, **kw
                    ) as resp:
                        return resp.status, await resp.json()

                session = await run.lobby.identify("K1", "pan", customer["cards"][0]["pan"])
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "cash", "session_id": session.session_id},
                    ssl=kiosk,
                ) as resp:
                    vip = (await resp.json())["ticket"]
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets", json={"service": "cash"}, ssl=kiosk
                ) as resp:
                    walk_in = (await resp.json())["ticket"]
                async with http.ws_connect(
                    f"{run.url}/api/v1/events?since=0", **run.stream()
                ) as tws:
                    status, listed = await call("GET", "/visits?state=waiting", "lobby")
                    assert status == 200
                    visits = {v["ticket"]["number"]: v for v in listed["visits"]}
                    assert set(visits) == {vip["number"], walk_in["number"]}
                    vip_visit = visits[vip["number"]]
                    assert vip_visit["priority"] is True
                    assert vip_visit["walk_in"] is False
                    assert visits[walk_in["number"]]["salutation_zh"] is None
                    vid = vip_visit["visit_id"]

                    status, body = await call("POST", f"/visits/{vid}/claim", "wealth")
                    assert (status, body["claimed_by"]) == (200, "S-WEALTH")
                    status, body = await call("POST", f"/visits/{vid}/claim", "account")
                    assert status == 409
                    assert body["error"]["code"] == "already_claimed"
                    status, body = await call(
                        "POST",
                        f"/visits/{vid}/notes",
                        "wealth",
                        json={"text": "问过养老金，下次跟进"},
                    )
                    assert status == 201
                    status, body = await call(
                        "POST",
                        f"/visits/{vid}/handoff",
                        "wealth",
                        json={"to_staff_id": "S-ACCOUNT", "note": "开户"},
                    )
                    assert status == 200
                    lead = customer["leads"][0]["lead_id"]
                    status, body = await call(
                        "POST",
                        f"/visits/{vid}/leads/{lead}/outcome",
                        "account",
                        json={"outcome": "not_suitable"},
                    )
                    assert status == 201
                    status, body = await call(
                        "POST",
                        f"/visits/{vid}/leads/NOPE/outcome",
                        "account",
                        json={"outcome": "accepted"},
                    )
                    assert status == 404
                    status, body = await call(
                        "POST",
                        f"/visits/{vid}/leads/{lead}/outcome",
                        "account",
                        json={"outcome": "maybe"},
                    )
                    assert status == 400
                    assert body["error"]["code"] == "bad_outcome"
                    status, brief = await call("GET", f"/visits/{vid}/brief", "account")
                    assert brief["claimed_by"] == "S-ACCOUNT"
                    assert [(n["kind"], n["text"]) for n in brief["notes"]] == [
                        ("note", "问过养老金，下次跟进"),
                        ("handoff", "开户"),
                        ("outcome", ""),
                    ]

                    status, body = await call("POST", "/counters/C1/call-next", "teller")
                    assert status == 200
                    assert body["ticket"]["number"] == vip["number"]
                    status, body = await call("POST", f"/tickets/{vip['id']}/recall", "teller")
                    assert status == 200
                    status, body = await call("POST", f"/tickets/{vip['id']}/park", "teller")
                    assert body["ticket"]["state"] == "parked"
                    status, body = await call("POST", "/counters/C1/call-next", "teller")
                    assert body["ticket"]["number"] == walk_in["number"]
                    status, body = await call("POST", f"/tickets/{walk_in['id']}/no-show", "teller")
                    assert body["ticket"]["state"] == "no_show"
                    status, body = await call(
                        "POST",
                        f"/tickets/{vip['id']}/transfer",
                        "lobby",
                        json={"service": "wealth"},
                    )
                    assert status == 200
                    assert body["ticket"]["service"] == "wealth"
                    status, body = await call("POST", "/counters/V1/call-next", "wealth")
                    assert body["ticket"]["number"] == vip["number"]
                    status, body = await call("POST", f"/tickets/{vip['id']}/finish", "wealth")
                    assert body["ticket"]["state"] == "finished"
                    status, body = await call("POST", f"/tickets/{vip['id']}/finish", "wealth")
                    assert status == 409
                    status, board = await call("GET", "/queue/dashboard", "lobby")
                    assert status == 200
                    assert {c["counter_id"] for c in board["counters"]} >= {
                        "C1",
                        "V1",
                    }
                    status, body = await call("GET", "/queue/dashboard", "teller")
                    assert status == 403
                    assert body["error"]["code"] == "role_forbidden"

                    wanted = [
                        "arrival",
                        "arrival",
                        "claimed",
                        "note_added",
                        "handoff",
                        "lead_outcome",
                        "called",
                        "recalled",
                        "ticket_updated",
                        "called",
                        "no_show",
                        "transferred",
                        "called",
                        "finished",
                    ]
                    got: list[str] = []
                    async with asyncio.timeout(10):
                        while len(got) < len(wanted):
                            msg = await tws.receive_json()
                            # waiting_changed follows every queue change, and a VIP's own
                            # manager hears of the arrival; this test is about the actions'
                            if msg.get("type") == "event" and msg["kind"] not in (
                                "waiting_changed",
                                "manager_alert",
                            ):
                                got.append(msg["kind"])
                    assert got == wanted

                # The lobby display (and anything that is not a staff device) sees calls only.
                display = tls.client_context("TV1", "display")
                async with http.ws_connect(f"{run.url}/api/v1/events?since=0", ssl=display) as dws:
                    seen: list[str] = []
                    async with asyncio.timeout(10):
                        while (msg := await dws.receive_json())["type"] != "live":
                            seen.append(msg["kind"])
                assert "called" in seen
                private = {"arrival", "claimed", "note_added", "handoff", "lead_outcome"}
                assert not (private | {"manager_alert", "handoff_accepted"}) & set(seen)

                box = run.hub.outbox
                queued = [(i.kind, i.payload, i.idempotency_key) for i in box.for_day(box.today())]
                assert [kind for kind, _, _ in queued] == [
                    "claim",
                    "note",
                    "handoff",
                    "lead_outcome",
                ]
                for _, payload, key in queued:
                    assert payload["customer_id"] == customer["customer_id"]
                    assert payload["staff_id"].startswith("S-")
                    assert key
                    assert customer["name"] not in str(payload)

                # No staff session: 401; a kiosk certificate: 403.
                async with http.get(f"{run.url}/api/v1/visits", ssl=tablet) as resp:
                    assert resp.status == 401
                async with http.get(
                    f"{run.url}/api/v1/visits", ssl=kiosk, headers=logins["lobby"][1]
                ) as resp:
                    assert resp.status == 403

    asyncio.run(scenario())
