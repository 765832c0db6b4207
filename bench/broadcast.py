"""The arrival bench's baseline: a bare aiohttp WebSocket broadcaster with the same TLS setup.

It broadcasts a message of the arrival event's size to as many clients as there are tablets;
measured from the trigger to the last client's receipt.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import aiohttp
from aiohttp import web


async def until(done: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Wait until `done()`; polling is fine: timestamps are taken at the source (listener,
    printer thread), the poll only decides when to go on."""
    async with asyncio.timeout(limit_s):
        while not done():  # noqa: ASYNC110
            await asyncio.sleep(0.0005)


def _all_got(got: dict[int, list[float]], n: int, clients: int) -> bool:
    return len(got.get(n, [])) >= clients


def baseline_server(pki: Path, port_file: Path) -> None:
    """A bare WebSocket broadcaster: every text a 'trigger' client sends goes to all listeners."""

    async def main() -> None:
        listeners: set[web.WebSocketResponse] = set()

        async def listen(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            listeners.add(ws)
            async for _ in ws:
                pass
            listeners.discard(ws)
            return ws

        async def trigger(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(max_msg_size=0)
            await ws.prepare(request)
            async for msg in ws:
                for peer in list(listeners):
                    await peer.send_str(msg.data)
            return ws

        app = web.Application()
        app.router.add_get("/listen", listen)
        app.router.add_get("/trigger", trigger)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(pki / "hub.crt"), str(pki / "hub.key"))
        context.load_verify_locations(str(pki / "ca.crt"))
        context.verify_mode = ssl.CERT_OPTIONAL
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        print(f"baseline: listening on https://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


async def run_baseline(
    url: str, ssls: dict[str, ssl.SSLContext], size: int, rounds: int, gap_s: float
) -> list[float]:
    """Broadcast `rounds` messages of `size` bytes; return trigger -> last receipt in ms."""
    tablets = [dev for dev in ssls if dev.startswith("T")]
    out: list[float] = []
    async with aiohttp.ClientSession() as http:
        conns = [
            await http.ws_connect(f"{url}/listen", ssl=ssls[dev], max_msg_size=0) for dev in tablets
        ]
        trigger = await http.ws_connect(f"{url}/trigger", ssl=ssls["K1"], max_msg_size=0)
        await asyncio.sleep(0.2)
        got: dict[int, list[float]] = {}

        async def listen(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                now = time.monotonic()
                got.setdefault(int(json.loads(msg.data)["n"]), []).append(now)

        tasks = [asyncio.create_task(listen(ws)) for ws in conns]
        for n in range(rounds):
            body = json.dumps({"n": n, "pad": ""})
            body = json.dumps({"n": n, "pad": "x" * max(0, size - len(body))})
            t0 = time.monotonic()
            await trigger.send_str(body)
            await until(partial(_all_got, got, n, len(tablets)))
            out.append((max(got[n]) - t0) * 1000)
            await asyncio.sleep(gap_s)
        for task in tasks:
            task.cancel()
        for ws in [*conns, trigger]:
            await ws.close()
    return out
