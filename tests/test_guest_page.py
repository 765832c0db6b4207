"""The ticket in the customer's pocket: the guest listener over loopback, against the real hub.

A recognised VIP takes a ticket; the link in its QR code opens the ticket's page on the guest
listener (no client certificate), which follows the ticket live as a teller calls it, and
never shows the customer's name, tier or id. Passes that open nothing all get one 404 page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.api import create_app
from branch_hub.config import BranchConfig
from branch_hub.hub import Hub
from drivers.sim.magstripe import card_swipe
from tests.support.hubkit import guest_site
from tests.support.lobbyenv import BuiltCache, RunningHub, branch_config, build_cache, running_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

SIMS = {"magstripe": "sim://magstripe", "printer": "sim://printer"}
GONE = "该排队凭证已失效"


def guest_config(
    guesses_per_min: int = 30, *, unlimited: bool = False, **station: str
) -> BranchConfig:
    """The sample branch with its guest listener on (`unlimited`: no device write limits)."""
    config = branch_config(**station)
    if unlimited:
        config = config.model_copy(
            update={"hub": config.hub.model_copy(update={"write_limit_scale": 0.0})}
        )
    guest = config.guest.model_copy(
        update={"enabled": True, "public_url": "http://guest.branch.test:8080"}
    )
    guest = guest.model_copy(update={"guesses_per_min": guesses_per_min})
    return config.model_copy(update={"guest": guest})


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("guest-cache"), customers=200)


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


def token_of(qr: str) -> str:
    """The pass in a ticket's QR link."""
    match = re.fullmatch(r"http://guest\.branch\.test:8080/t/([A-Za-z0-9_-]{43})", qr)
    assert match, qr
    return match.group(1)


async def walk_in(run: RunningHub, http: aiohttp.ClientSession, service: str = "cash") -> Any:
    """A kiosk's walk-in ticket, as the kiosk gets it."""
    kiosk = run.tls.client_context("K1", "kiosk")
    async with http.post(
        f"{run.url}/api/v1/kiosk/tickets", json={"service": service}, ssl=kiosk
    ) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["ticket"]


async def vip_ticket(run: RunningHub, http: aiohttp.ClientSession, pan: str) -> Any:
    """A recognised customer's card swiped at the kiosk, then a wealth ticket."""
    kiosk = run.tls.client_context("K1", "kiosk")
    run.lobby.stations["K1"].sims["magstripe"].swipe(card_swipe(pan, "3012"))
    async with asyncio.timeout(10):
        while True:
            async with http.get(f"{run.url}/api/v1/kiosk/session", ssl=kiosk) as resp:
                session = await resp.json()
            if session.get("state") == "recognised":
                break
            await asyncio.sleep(0.05)
    body = {"service": "wealth", "session_id": session["session_id"]}
    async with http.post(f"{run.url}/api/v1/kiosk/tickets", json=body, ssl=kiosk) as resp:
        assert resp.status == 201, await resp.text()
        return (await resp.json())["ticket"]


async def teller(run: RunningHub, http: aiohttp.ClientSession, method: str, path: str) -> Any:
    """A counter's call to the hub, as the counter's device makes it."""
    ssl, headers = run.staff("teller")
    async with http.request(method, f"{run.url}/api/v1{path}", ssl=ssl, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def sse_views(resp: aiohttp.ClientResponse) -> Any:
    """The views a live stream sends, one by one."""
    async for line in resp.content:
        if line.startswith(b"data: "):
            yield json.loads(line[6:])


def _private(texts: list[str], customer: dict[str, Any], hub: Hub) -> None:
    tier = next(t for t in hub.config.tiers if t.code == customer["tier"])
    secrets = [customer["name"], customer["customer_id"], customer["id_number"], tier.name_zh]
    secrets += [tier.name_en] if tier.code == "private" else []  # "Wealth" names a service too
    secrets += [customer["name"][0] + "女士", customer["name"][0] + "先生", '"tier"', "priority"]
    for text in texts:
        for secret in secrets:
            assert secret not in text, secret


async def _follow_vip(run: RunningHub, http: aiohttp.ClientSession, guest: str, pan: str) -> Any:
    ticket = await vip_ticket(run, http, pan)
    token = token_of(ticket["qr"])
    printer = run.lobby.stations["K1"].sims["printer"]
    assert await asyncio.to_thread(printer.wait_tickets, 1, 5.0)
    assert printer.tickets[-1].qr == [ticket["qr"]]  # the paper carries the link
    texts = []
    async with http.get(f"{guest}/t/{token}") as resp:
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["Server"] == "branch-hub"
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")
        page = await resp.text()
    assert ticket["number"] in page
    assert "理财咨询" in page
    assert 'lang="zh-CN"' in page
    async with http.get(f"{guest}/t/{token}?lang=en") as resp:
        texts.append(await resp.text())
    assert "Wealth consulting" in texts[-1] or ticket["service_en"] in texts[-1]
    async with http.get(f"{guest}/t/{token}/state") as resp:
        state = await resp.json()
        texts.append(json.dumps(state, ensure_ascii=False))
    assert state["number"] == ticket["number"]
    assert state["state"] in {"waiting", "next"}
    async with http.get(f"{guest}/t/{token}/events") as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        views = sse_views(resp)
        first = await anext(views)
        assert first == state
        called = await teller(run, http, "POST", "/counters/V1/call-next")
        assert called["ticket"]["id"] == ticket["id"]
        async with asyncio.timeout(10):
            now = await anext(views)
        assert (now["state"], now["counter"]) == ("called", 8)
        await teller(run, http, "POST", f"/tickets/{ticket['id']}/finish")
        async with asyncio.timeout(10):
            now = await anext(views)
        assert now["state"] == "done"
        texts += [json.dumps(now, ensure_ascii=False)]
    return page, texts, token


def test_a_vip_follows_the_ticket_live_and_sees_nothing_private(
    tmp_path: Path, tls: TlsEnv, cache: BuiltCache, caplog: pytest.LogCaptureFixture
) -> None:
    vips = [c for c in cache.customers if c["tier"] in {"wealth", "private"}]
    customer = next((c for c in vips if c["tier"] == "private"), vips[0])
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        config = guest_config(magstripe=SIMS["magstripe"], printer=SIMS["printer"])
        async with (
            running_hub(tmp_path / "hub", tls, config, cache) as run,
            guest_site(run.hub) as guest,
            aiohttp.ClientSession() as http,
        ):
            page, texts, token = await _follow_vip(run, http, guest, customer["cards"][0]["pan"])
            _private([page, *texts], customer, run.hub)
            events = run.hub.stream.log.since(0, 1000)
            assert token not in json.dumps([e.data for e in events], ensure_ascii=False)

    asyncio.run(scenario())
    assert "/t/" not in caplog.text  # the pass is in no log line, not even an access line


async def _gone_bytes(http: aiohttp.ClientSession, url: str) -> bytes:
    async with http.get(url) as resp:
        assert resp.status == 404, url
        assert resp.headers["Cache-Control"] == "no-store"
        body = await resp.read()
    assert GONE in body.decode()
    return body


def test_forged_expired_and_other_branch_passes_get_one_page(tmp_path: Path, tls: TlsEnv) -> None:
    async def scenario() -> None:
        other_config = guest_config()
        branch = other_config.branch.model_copy(update={"id": "SH-PD-0201"})
        other_config = other_config.model_copy(update={"branch": branch})
        async with (
            running_hub(tmp_path / "hub", tls, guest_config(), None) as run,
            running_hub(
                tmp_path / "other", make_tls_env(tmp_path / "pki2"), other_config, None
            ) as other,
            guest_site(run.hub) as guest,
            aiohttp.ClientSession() as http,
        ):
            mine = token_of((await walk_in(run, http))["qr"])
            theirs = token_of((await walk_in(other, http))["qr"])
            stale = token_of((await walk_in(run, http))["qr"])
            await asyncio.to_thread(_yesterday, run.hub, stale)
            async with http.get(f"{guest}/t/{mine}/state") as resp:
                assert resp.status == 200
            forged = mine[:-1] + ("A" if mine[-1] != "A" else "B")
            paths = [
                f"/t/{forged}",
                f"/t/{theirs}",
                f"/t/{stale}",
                f"/t/{stale}/state",
                f"/t/{theirs}/events",
                "/t/not-a-pass",
                f"/t/{mine}/other",
                "/",
            ]
            bodies = {await _gone_bytes(http, guest + path) for path in paths}
            assert len(bodies) == 1  # no oracle: forged, unknown and expired look the same

    asyncio.run(scenario())


def _yesterday(hub: Hub, token: str) -> None:
    from branch_hub.lobby.guest import token_digest

    with hub.db.transaction() as conn:
        conn.execute(
            "UPDATE guest_passes SET day = date(day, '-1 day') WHERE digest = ?",
            (token_digest(token),),
        )


def test_a_flood_of_guesses_is_refused_and_logged_once(
    tmp_path: Path, tls: TlsEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="branch_hub.guest")

    async def scenario() -> None:
        async with (
            running_hub(tmp_path / "hub", tls, guest_config(guesses_per_min=30), None) as run,
            guest_site(run.hub) as guest,
            aiohttp.ClientSession() as http,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
            ) as neighbour,
        ):
            token = token_of((await walk_in(run, http))["qr"])
            statuses = []
            for n in range(60):
                async with http.get(f"{guest}/t/{'x' * 40}{n:03d}") as resp:
                    statuses.append(resp.status)
                    if resp.status == 429:
                        assert 1 <= int(resp.headers["Retry-After"]) <= 60
            assert statuses[:30] == [404] * 30
            assert set(statuses[30:]) == {429}
            async with neighbour.get(f"{guest}/t/{token}/state") as resp:
                assert resp.status == 200  # another phone is not punished

    asyncio.run(scenario())
    floods = [r for r in caplog.records if "over 30 unknown-ticket requests" in r.getMessage()]
    assert len(floods) == 1


def _openapi_paths() -> list[tuple[str, str]]:
    import yaml

    spec = yaml.safe_load(Path("docs/openapi.yaml").read_text(encoding="utf-8"))
    found = []
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "X1", path)
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                found.append((method.upper(), concrete))
    return found


def test_nothing_of_the_api_answers_on_the_guest_listener(tmp_path: Path, tls: TlsEnv) -> None:
    paths = _openapi_paths()
    assert len(paths) > 40

    async def scenario() -> None:
        async with (
            running_hub(tmp_path / "hub", tls, guest_config(guesses_per_min=6000), None) as run,
            guest_site(run.hub) as guest,
            aiohttp.ClientSession() as http,
        ):
            for route in create_app(run.hub).router.routes():  # and what the spec leaves out
                canonical = re.sub(r"\{[^}]+\}", "X1", route.resource.canonical)  # type: ignore[union-attr]
                paths.append((route.method if route.method != "*" else "GET", canonical))
            for method, path in paths:
                for base in ("/api/v1", ""):
                    async with http.request(method, f"{guest}{base}{path}") as resp:
                        assert resp.status == 404, (method, path)
                        assert method == "HEAD" or GONE in await resp.text()

    asyncio.run(scenario())
