"""Live push over real TLS on loopback: order, resume after disconnect and restart, slow clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.hub import Hub, HubOptions
from branch_hub.push import EventLog
from branch_hub.security.errors import StaffError
from tests.support.hubkit import served_hub
from tests.support.lobbyenv import branch_config
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


@dataclass
class Push:
    """A served hub, its URL, the seq it started with and a way to open the staff stream."""

    hub: Hub
    url: str
    tls: TlsEnv
    base: int  # events the hub wrote at start (its cache's staleness)

    async def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Commit and push an event."""
        await self.hub.stream.emit(kind, data)

    def stream(
        self, http: aiohttp.ClientSession, device: str, since: int | None = None, **kw: Any
    ) -> Any:
        """Open the event stream as a logged-in lobby manager on `device` (since is relative)."""
        query = "" if since is None else f"?since={self.base + since}"
        return http.ws_connect(
            f"{self.url}/api/v1/events{query}",
            ssl=self.tls.client_context(device, "tablet"),
            headers=self.auth(device),
            **kw,
        )

    def auth(self, device: str) -> dict[str, str]:
        """The Authorization header of a lobby manager logged in on `device`."""
        security = self.hub.security
        with contextlib.suppress(StaffError):
            security.staff.add("S-LOBBY", "Lobby One", "lobby_manager", "580213")
        token = security.sessions.create("S-LOBBY", "lobby_manager", "Lobby One", device)
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running_hub(data: Path, tls: TlsEnv, queue_size: int = 1000) -> AsyncIterator[Push]:
    options = HubOptions(push_queue_size=queue_size)
    async with served_hub(branch_config(), data, tls, options) as (hub, url):
        yield Push(hub, url, tls, hub.stream.log.last_seq())


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
        async with running_hub(tmp_path, tls) as run, aiohttp.ClientSession() as http:
            base = run.base
            async with run.stream(http, "tab-1", since=0) as ws:
                assert (await ws.receive_json()) == {"type": "live", "seq": base}
                for i in range(5):
                    await run.emit("arrival", {"ticket": f"A00{i}"})
                got = await _collect(ws, 5)
            assert [m["seq"] - base for m in got] == [1, 2, 3, 4, 5]
            assert [m["data"]["ticket"] for m in got] == [f"A00{i}" for i in range(5)]
            for i in range(5, 8):  # while the tablet is away
                await run.emit("called", {"ticket": f"A00{i}"})
            async with run.stream(http, "tab-1", since=5) as ws:
                missed = await _collect(ws, 3)
                assert (await ws.receive_json())["type"] == "live"
            assert [m["seq"] - base for m in missed] == [6, 7, 8]
            assert [m["kind"] for m in missed] == ["called"] * 3

    asyncio.run(scenario())


def test_resume_across_hub_restart(tmp_path: Path, tls: TlsEnv) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path, tls) as run:
            first = run.base
            for i in range(3):
                await run.emit("arrival", {"n": i})
        async with running_hub(tmp_path, tls) as run, aiohttp.ClientSession() as http:
            await run.emit("arrival", {"n": 3})  # written by the restarted hub
            run.base = first
            async with run.stream(http, "tab-2", since=2) as ws:
                got = await _collect(ws, 3)
                replay = [m for m in got if m["kind"] == "arrival"]
                last = got[-1]["seq"]
                assert (await ws.receive_json()) == {"type": "live", "seq": last}
                await run.emit("arrival", {"n": 4})
                live = await _collect(ws, 1)
            seqs = [m["seq"] for m in replay + live]
            assert seqs == sorted(seqs)
            assert (seqs[0], seqs[-1]) == (first + 3, last + 1)
            assert [m["data"]["n"] for m in replay + live] == [2, 3, 4]

    asyncio.run(scenario())


def test_since_beyond_log_asks_for_resync(tmp_path: Path, tls: TlsEnv) -> None:
    async def scenario() -> None:
        async with running_hub(tmp_path, tls) as run, aiohttp.ClientSession() as http:
            async with run.stream(http, "t", since=99) as ws:
                msg = await ws.receive_json()
                assert msg == {"type": "resync", "reason": "unknown_seq", "last_seq": run.base}
                await ws.receive()
                assert ws.close_code == 4000
            async with http.get(
                f"{run.url}/api/v1/events?since=abc",
                ssl=tls.client_context("t2"),
                headers=run.auth("t2"),
            ) as resp:
                assert resp.status == 400
                body = await resp.json()
                assert body["error"]["code"] == "bad_since"

    asyncio.run(scenario())


def test_slow_client_never_delays_others(tmp_path: Path, tls: TlsEnv) -> None:
    total = 1500  # x 8 kB: more than the socket buffers hold, so the slow client's queue fills

    async def scenario() -> None:
        async with (
            running_hub(tmp_path, tls, queue_size=64) as run,
            aiohttp.ClientSession() as http,
        ):
            base = run.base
            fast = await run.stream(http, "fast")
            slow = await run.stream(http, "slow", autoclose=False)
            assert (await fast.receive_json())["type"] == "live"
            assert (await slow.receive_json())["type"] == "live"
            padding = "x" * 8000
            got: list[dict[str, Any]] = []
            for start in range(0, total, 32):  # the fast tablet keeps up, batch by batch
                for i in range(start, min(start + 32, total)):
                    await run.emit("ticket_updated", {"i": i, "pad": padding})
                got += await _collect(fast, min(32, total - start), limit_s=20)
            assert [m["data"]["i"] for m in got] == list(range(total))
            # The slow one, once it reads, finds it was told to resync, and resumes from the log.
            last_seen = base
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
            assert base < last_seen < base + total
            await slow.close()
            async with run.stream(http, "slow", since=last_seen - base) as ws:
                rest = await _collect(ws, base + total - last_seen, limit_s=20)
            assert [m["seq"] for m in rest] == list(range(last_seen + 1, base + total + 1))
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
        async with running_hub(tmp_path, tls) as run, aiohttp.ClientSession() as http:
            url = run.url
            with pytest.raises(aiohttp.ClientError):
                await http.get(url.replace("https", "http") + "/api/v1/health")
            async with http.get(f"{url}/api/v1/health", ssl=tls.client_context("t3")) as resp:
                assert resp.status == 200
                assert (await resp.json())["status"] == "ok"

    asyncio.run(scenario())
