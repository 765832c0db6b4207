"""The arrival flow over real TLS with simulated devices: recognised, walk-in, unknown card,
printer out of paper, session timeout, a device that cannot be opened, and a restart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from drivers.sim.magstripe import card_swipe, passbook_swipe
from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

SIMS = {"id_reader": "sim://idreader", "magstripe": "sim://magstripe", "printer": "sim://printer"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("lobby-cache"))


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


def priority_customer(cache: BuiltCache) -> dict[str, Any]:
    return next(
        c
        for c in cache.customers
        if c["tier"] in {"wealth", "private"} and c["leads"] and not c["lead_declines"]
    )


async def kiosk_message(
    ws: aiohttp.ClientWebSocketResponse, kind: str, limit: float = 10
) -> dict[str, Any]:
    async with asyncio.timeout(limit):
        while True:
            msg = await ws.receive_json()
            if msg["kind"] == kind and (
                kind != "kiosk.session" or msg["data"].get("state") not in (None, "idle", "reading")
            ):
                return dict(msg["data"])


async def next_event(
    ws: aiohttp.ClientWebSocketResponse, kind: str, limit: float = 10
) -> dict[str, Any]:
    async with asyncio.timeout(limit):
        while True:
            msg = await ws.receive_json()
            if msg.get("type") == "event" and msg["kind"] == kind:
                return dict(msg)


def test_swipe_recognises_customer_ticket_printed_and_arrival_pushed(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    customer = priority_customer(cache)
    pan = customer["cards"][0]["pan"]

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            tls.client_context("T1", "tablet")
            async with aiohttp.ClientSession() as http:
                async with (
                    http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws,
                    http.ws_connect(f"{run.url}/api/v1/events", **run.stream()) as tws,
                ):
                    first = await kws.receive_json()
                    assert first == {"kind": "kiosk.session", "data": {"state": "idle"}}
                    assert (await tws.receive_json())["type"] == "live"
                    run.lobby.stations["K1"].sims["magstripe"].swipe(card_swipe(pan, "3012"))
                    session = await kiosk_message(kws, "kiosk.session")
                    assert session["state"] == "recognised"
                    greeting = session["greeting"]
                    assert greeting["salutation_zh"] == customer["name"][0] + (
                        "女士" if customer["gender"] == "F" else "先生"
                    )
                    assert greeting["priority"] is True
                    assert customer["name"] not in json.dumps(session, ensure_ascii=False)
                    async with http.get(f"{run.url}/api/v1/kiosk/session", ssl=kiosk) as resp:
                        assert (await resp.json())["session_id"] == session["session_id"]
                    async with http.post(
                        f"{run.url}/api/v1/kiosk/tickets",
                        json={"service": "wealth", "session_id": session["session_id"]},
                        ssl=kiosk,
                    ) as resp:
                        assert resp.status == 201, await resp.text()
                        issued = await resp.json()
                    assert issued["print"] == {"ok": True, "problem": None}
                    ticket = issued["ticket"]
                    async with http.post(
                        f"{run.url}/api/v1/kiosk/tickets",
                        json={"service": "wealth", "session_id": session["session_id"]},
                        ssl=kiosk,
                    ) as resp:
                        assert resp.status == 409  # one ticket per session
                    assert ticket["number"] == "C001"
                    assert ticket["service_zh"] == "理财咨询"
                    ended = await kiosk_message(kws, "kiosk.session_ended")
                    assert ended["reason"] == "ticket_issued"
                    arrival = await next_event(tws, "arrival")
                    data = arrival["data"]
                    assert data["ticket"]["number"] == "C001"
                    assert data["priority"] is True
                    assert data["walk_in"] is False
                    assert data["summary"]["leads"] == len(customer["leads"])
                    text = json.dumps(arrival, ensure_ascii=False)
                    for secret in (pan, customer["name"], customer["id_number"]):
                        assert secret not in text
                printer = run.lobby.stations["K1"].sims["printer"]
                assert await asyncio.to_thread(printer.wait_tickets, 1, 5.0)
                assert any("C001" in line for line in printer.tickets[0].lines)
                assert printer.tickets[0].qr == [ticket["qr"]]
                # The wealth manager fetches the brief by REST.
                wealth_ssl, headers = run.staff("wealth")
                async with http.get(
                    f"{run.url}/api/v1/visits/{data['visit_id']}/brief",
                    ssl=wealth_ssl,
                    headers=headers,
                ) as resp:
                    assert resp.status == 200, await resp.text()
                    brief = await resp.json()
                assert brief["walk_in"] is False
                assert brief["masked_name"].startswith(customer["name"][0])
                assert brief["aum_band"] is not None
                assert len(brief["leads"]) == len(customer["leads"])
                teller_ssl, teller_headers = run.staff("teller")
                async with http.get(
                    f"{run.url}/api/v1/visits/{data['visit_id']}/brief",
                    ssl=teller_ssl,
                    headers=teller_headers,
                ) as resp:
                    teller = await resp.json()
                assert teller["aum_band"] is None
                assert all(not lead["talking_points"] for lead in teller["leads"])
                # The visit remembers the card was swiped, not read by its chip (the report).
                visit = run.lobby.visits.get(data["visit_id"])
                assert visit is not None
                assert visit.identified_by == "stripe"

    asyncio.run(scenario())


def test_walk_in_without_card_and_unknown_passbook(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{run.url}/api/v1/kiosk/menu", ssl=kiosk) as resp:
                    menu = await resp.json()
                assert [s["code"] for s in menu["services"]] == [
                    "cash",
                    "account",
                    "wealth",
                    "loan",
                ]
                assert menu["branch"]["id"] == "BJ-CY-0105"
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "cash", "session_id": None},
                    ssl=kiosk,
                ) as resp:
                    assert resp.status == 201
                    walk_in = await resp.json()
                assert walk_in["ticket"]["number"] == "A001"
                assert walk_in["ticket"]["people_ahead"] == 0
                async with http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws:
                    await kws.receive_json()
                    run.lobby.stations["K1"].sims["magstripe"].swipe(
                        passbook_swipe("6222000011112222333")
                    )
                    session = await kiosk_message(kws, "kiosk.session")
                assert session["state"] == "walk_in"
                assert session["problem"] == "unknown_card"
                assert session["greeting"] is None
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "cash", "session_id": session["session_id"]},
                    ssl=kiosk,
                ) as resp:
                    second = await resp.json()
                assert second["ticket"]["number"] == "A002"
                assert second["ticket"]["people_ahead"] == 1
                visits = run.lobby.visits.of_day(second["ticket"]["issued_at"][:10])
                assert len(visits) in (0, 2)  # day in UTC vs branch zone near midnight
                # A tablet may not take tickets; no certificate at all is 401.
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "cash"},
                    ssl=tls.client_context("T9", "tablet"),
                ) as resp:
                    assert resp.status == 403
                async with http.get(
                    f"{run.url}/api/v1/kiosk/menu", ssl=tls.client_context()
                ) as resp:
                    assert resp.status == 401
                    assert (await resp.json())["error"]["code"] == "device_not_enrolled"

    asyncio.run(scenario())


def test_printer_out_of_paper_still_issues_and_alerts(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            tls.client_context("T1", "tablet")
            run.lobby.stations["K1"].sims["printer"].set_fault("paper_end")
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{run.url}/api/v1/events", **run.stream()) as tws,
            ):
                await tws.receive_json()
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets", json={"service": "loan"}, ssl=kiosk
                ) as resp:
                    assert resp.status == 201
                    issued = await resp.json()
                assert issued["ticket"]["number"] == "D001"
                assert issued["print"] == {"ok": False, "problem": "paper_out"}
                conditions: set[str] = set()
                kinds: set[str] = set()
                async with asyncio.timeout(10):
                    while not (
                        {"print_failed:paper_out", "paper_out"} <= conditions and "arrival" in kinds
                    ):
                        msg = await tws.receive_json()
                        kinds.add(msg["kind"])
                        if msg["kind"] == "device_alert":
                            assert msg["data"]["device"] == "printer"
                            conditions.add(msg["data"]["condition"])
            assert run.lobby.stations["K1"].sims["printer"].tickets == []

    asyncio.run(scenario())


def test_session_times_out_and_forgets_the_customer(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    customer = priority_customer(cache)

    async def scenario() -> None:
        config = branch_config(**SIMS, timeout="0.6")
        async with running_hub(tmp_path / "hub", tls, config, cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws,
            ):
                await kws.receive_json()
                run.lobby.stations["K1"].sims["idreader"].place(0, id_number=customer["id_number"])
                session = await kiosk_message(kws, "kiosk.session")
                assert session["state"] == "recognised"
                ended = await kiosk_message(kws, "kiosk.session_ended", limit=5)
                assert ended == {"session_id": session["session_id"], "reason": "timeout"}
                assert run.lobby.sessions.current("K1") is None
                async with http.get(f"{run.url}/api/v1/kiosk/session", ssl=kiosk) as resp:
                    assert await resp.json() == {"state": "idle"}
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "cash", "session_id": session["session_id"]},
                    ssl=kiosk,
                ) as resp:
                    assert resp.status == 409
                    assert (await resp.json())["error"]["code"] == "session_expired"

    asyncio.run(scenario())


def test_device_that_cannot_open_is_an_alert_and_no_cache_means_walk_in(
    tmp_path: Path, tls: TlsEnv
) -> None:
    async def scenario() -> None:
        config = branch_config(
            id_reader=f"serial://{tmp_path}/no-such-tty",
            magstripe="sim://magstripe",
            printer="none",
        )
        async with running_hub(tmp_path / "hub", tls, config, None) as run:
            kiosk = tls.client_context("K1", "kiosk")
            async with aiohttp.ClientSession() as http:
                async with http.ws_connect(
                    f"{run.url}/api/v1/events?since=0", **run.stream()
                ) as tws:
                    alert = await next_event(tws, "device_alert")
                    assert alert["data"]["device"] == "idreader"
                    async with http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws:
                        await kws.receive_json()
                        run.lobby.stations["K1"].sims["magstripe"].swipe(
                            card_swipe("6217000011112222333", "3012")
                        )
                        session = await kiosk_message(kws, "kiosk.session")
                    assert session["state"] == "walk_in"
                    cache_alert = await next_event(tws, "device_alert")
                    assert cache_alert["data"]["device"] == "customer_cache"
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "cash", "session_id": session["session_id"]},
                    ssl=kiosk,
                ) as resp:
                    issued = await resp.json()
                assert issued["print"] == {"ok": False, "problem": "offline"}

    asyncio.run(scenario())


def test_restart_replays_events_and_briefs_survive(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    customer = priority_customer(cache)

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run:
            # enrolled in this hub's registry, which the restarted hub below reopens
            kiosk = tls.client_context("K1", "kiosk")
            session = await run.lobby.identify("K1", "id_number", customer["id_number"])
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "account", "session_id": session.session_id},
                    ssl=kiosk,
                ) as resp,
            ):
                visit_ticket = (await resp.json())["ticket"]
        raw = b"".join(f.read_bytes() for f in (tmp_path / "hub").glob("hub.db*"))
        for secret in (customer["id_number"], customer["customer_id"], customer["name"]):
            assert secret.encode() not in raw
        async with (
            running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run,
            aiohttp.ClientSession() as http,
        ):
            async with http.ws_connect(f"{run.url}/api/v1/events?since=0", **run.stream()) as tws:
                arrival = await next_event(tws, "arrival")
            assert arrival["data"]["ticket"]["id"] == visit_ticket["id"]
            lobby_ssl, lobby_headers = run.staff("lobby")
            async with http.get(
                f"{run.url}/api/v1/visits/{arrival['data']['visit_id']}/brief",
                ssl=lobby_ssl,
                headers=lobby_headers,
            ) as resp:
                brief = await resp.json()
            assert brief["walk_in"] is False
            assert brief["salutation_zh"] == arrival["data"]["salutation_zh"]
            async with http.post(
                f"{run.url}/api/v1/kiosk/tickets", json={"service": "account"}, ssl=kiosk
            ) as resp:
                assert (await resp.json())["ticket"]["number"] == "B002"

    asyncio.run(scenario())


def test_repeated_ticket_request_gets_the_same_ticket_also_after_a_restart(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache
) -> None:
    async def post(
        http: aiohttp.ClientSession, url: str, kiosk: Any, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        async with http.post(f"{url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
            return resp.status, await resp.json()

    async def scenario() -> None:
        request = {"service": "cash", "request_id": "k1-0001-7f3a9c"}
        async with running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            async with aiohttp.ClientSession() as http:
                status, first = await post(http, run.url, kiosk, request)
                assert status == 201
                status, again = await post(http, run.url, kiosk, request)
                assert status == 200
                assert again["replayed"] is True
                assert again["ticket"]["id"] == first["ticket"]["id"]
                status, other = await post(
                    http, run.url, kiosk, {**request, "request_id": "k1-0002-11aa22"}
                )
                assert status == 201
                assert other["ticket"]["number"] == "A002"
                status, bad = await post(http, run.url, kiosk, {**request, "request_id": "x/y"})
                assert status == 400
                assert bad["error"]["code"] == "bad_request_id"
                printer = run.lobby.stations["K1"].sims["printer"]
                # the replay reprints the same number: three papers, two numbers
                assert await asyncio.to_thread(printer.wait_tickets, 3, 5.0)
        async with (
            running_hub(tmp_path / "hub", tls, branch_config(**SIMS), cache) as run,
            aiohttp.ClientSession() as http,
        ):
            status, after = await post(http, run.url, kiosk, request)
            assert status == 200
            assert after["ticket"]["id"] == first["ticket"]["id"]
            lobby_ssl, headers = run.staff("lobby")
            async with http.get(
                f"{run.url}/api/v1/visits?state=all", ssl=lobby_ssl, headers=headers
            ) as resp:
                numbers = [v["ticket"]["number"] for v in (await resp.json())["visits"]]
            assert sorted(numbers) == ["A001", "A002"]

    asyncio.run(scenario())
