"""Live push over real TLS on loopback: order, resume after disconnect and restart, slow clients."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.context import server_ssl_context
from branch_hub.push import Broadcaster, EventLog
from branch_hub.server import HubApp, create_app
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


@asynccontextmanager
async def running_hub(
    data: Path, tls: TlsEnv, queue_size: int = 1000
) -> AsyncIterator[tuple[HubApp, str]]:
    key = load_or_create_key(data / "atrest.key")
    hub = HubApp(
        log=EventLog(data / "hub.db", AtRestCipher(key)), broadcaster=Broadcaster(queue_size)
    )
    runner = web.AppRunner(create_app(hub))
    await runner.setup()
    ssl_ctx = server_ssl_context(str(tls.server_cert), str(tls.server_key), str(tls.ca_path), False)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield hub, f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        hub.log.close()


async def _collect(
    ws: aiohttp.ClientWebSocketResponse, count: int, limit_s: float = 10
) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(limit_s):
        while len(got) < count:
            msg = await ws.receive_json()
            if msg["type"] == "event":
                got.append(msg)
    return got


def test_events_in_order_then_resume_after_disconnect(tmp_path: Path, tls: TlsEnv) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path, tls) as (hub, url), aiohttp.ClientSession() as http:
            ssl_ctx = tls.client_context("tab-1")
            async with http.ws_connect(f"{url}/api/v1/events?since=0", ssl=ssl_ctx) as ws:
                assert (await ws.receive_json()) == {"type": "live", "seq": 0}
                for i in range(5):
                    await hub.emit("arrival", {"ticket": f"A00{i}"})
                got = await _collect(ws, 5)
            assert [m["seq"] for m in got] == [1, 2, 3, 4, 5]
            assert [m["data"]["ticket"] for m in got] == [f"A00{i}" for i in range(5)]
            for i in range(5, 8):  # while the tablet is away
                await hub.emit("called", {"ticket": f"A00{i}"})
            async with http.ws_connect(f"{url}/api/v1/events?since=5", ssl=ssl_ctx) as ws:
                missed = await _collect(ws, 3)
                assert (await ws.receive_json())["type"] == "live"
            assert [m["seq"] for m in missed] == [6, 7, 8]
            assert [m["kind"] for m in missed] == ["called"] * 3

    asyncio.run(scenario())


def test_resume_across_hub_restart(tmp_path: Path, tls: TlsEnv) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path, tls) as (hub, _url):
            for i in range(3):
                await hub.emit("arrival", {"n": i})
        async with running_hub(tmp_path, tls) as (hub, url), aiohttp.ClientSession() as http:
            await hub.emit("arrival", {"n": 3})  # written by the restarted hub
            ssl_ctx = tls.client_context("tab-2")
            async with http.ws_connect(f"{url}/api/v1/events?since=2", ssl=ssl_ctx) as ws:
                replay = await _collect(ws, 2)
                assert (await ws.receive_json()) == {"type": "live", "seq": 4}
                await hub.emit("arrival", {"n": 4})
                live = await _collect(ws, 1)
            seqs = [m["seq"] for m in replay + live]
            assert seqs == [3, 4, 5]
            assert [m["data"]["n"] for m in replay + live] == [2, 3, 4]

    asyncio.run(scenario())


def test_since_beyond_log_asks_for_resync(tmp_path: Path, tls: TlsEnv) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path, tls) as (_hub, url), aiohttp.ClientSession() as http:
            async with http.ws_connect(
                f"{url}/api/v1/events?since=99", ssl=tls.client_context("t")
            ) as ws:
                msg = await ws.receive_json()
                assert msg == {"type": "resync", "reason": "unknown_seq", "last_seq": 0}
                await ws.receive()
                assert ws.close_code == 4000
            async with http.get(f"{url}/api/v1/events?since=abc", ssl=tls.client_context()) as resp:
                assert resp.status == 400
                body = await resp.json()
                assert body["error"]["code"] == "bad_since"

    asyncio.run(scenario())


def test_slow_client_never_delays_others(tmp_path: Path, tls: TlsEnv) -> None:
    total = 1500  # x 8 kB: more than the socket buffers hold, so the slow client's queue fills

    async def scenario() -> None:
        async with (
            running_hub(tmp_path, tls, queue_size=64) as (hub, url),
            aiohttp.ClientSession() as http,
        ):
            fast = await http.ws_connect(f"{url}/api/v1/events", ssl=tls.client_context("fast"))
            slow = await http.ws_connect(
                f"{url}/api/v1/events",
                ssl=tls.client_context("slow"),
                autoclose=False,
            )
            assert (await fast.receive_json())["type"] == "live"
            assert (await slow.receive_json())["type"] == "live"
            padding = "x" * 8000
            got: list[dict[str, Any]] = []
            for start in range(0, total, 32):  # the fast tablet keeps up, batch by batch
                for i in range(start, min(start + 32, total)):
                    await hub.emit("ticket_updated", {"i": i, "pad": padding})
                got += await _collect(fast, min(32, total - start), limit_s=20)
            assert [m["data"]["i"] for m in got] == list(range(total))
            # The slow one, once it reads, finds it was told to resync, and resumes from the log.
            last_seen = 0
            async with asyncio.timeout(20):
                while True:
                    msg = await slow.receive()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    body = msg.json()
                    if body["type"] == "event":
                        last_seen = body["seq"]
                    elif body["type"] == "resync":
                        assert body["reason"] == "too_slow"
                        assert body["last_seq"] == last_seen
                        break
                else:  # pragma: no cover
                    pytest.fail("slow client was never told to resync")
            assert 0 < last_seen < total
            await slow.close()
            async with http.ws_connect(
                f"{url}/api/v1/events?since={last_seen}", ssl=tls.client_context("slow")
            ) as ws:
                rest = await _collect(ws, total - last_seen, limit_s=20)
            assert [m["seq"] for m in rest] == list(range(last_seen + 1, total + 1))
            await fast.close()

    asyncio.run(scenario())


def test_event_payloads_are_encrypted_at_rest(tmp_path: Path) -> None:
    key = load_or_create_key(tmp_path / "atrest.key")
    assert oct(os.stat(tmp_path / "atrest.key").st_mode & 0o777) == "0o600"
    log = EventLog(tmp_path / "hub.db", AtRestCipher(key))
    log.append("note_added", {"customer": "欧阳建国", "text": "客户关注大额存单"})
    assert log.since(0)[0].data["customer"] == "欧阳建国"
    log.close()
    for path in tmp_path.iterdir():
        blob = path.read_bytes()
        for needle in ("欧阳建国", "大额存单"):
            for enc in ("utf-8", "utf-16-le", "gb18030"):
                assert needle.encode(enc) not in blob, (path, enc)


def test_plain_http_and_missing_client_ca_are_refused(tmp_path: Path, tls: TlsEnv) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path, tls) as (_hub, url), aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientError):
                await http.get(url.replace("https", "http") + "/api/v1/health")
            async with http.get(f"{url}/api/v1/health", ssl=tls.client_context()) as resp:
                assert resp.status == 200
                assert (await resp.json())["status"] == "ok"

    asyncio.run(scenario())
