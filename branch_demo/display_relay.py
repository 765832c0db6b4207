"""A loopback relay that lets a plain browser show the calling display during the demo.

The hub admits only enrolled devices (mutual TLS). A branch's TV carries its own display
certificate, put into its browser by `branch-display setup` (docs/display.md); that needs a system
policy file and an NSS database, which a demo on someone's desktop should not touch, so the demo
relays the display's own requests (the page, `/api/v1/board`, voice files and the `/api/v1/events`
WebSocket) to the hub with the enrolled display device's certificate. Nothing else is relayed.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path

import aiohttp
from aiohttp import web

__all__ = ["DisplayRelay"]

_ALLOWED = ("/display", "/api/v1/board")


class DisplayRelay:
    """Serve https://127.0.0.1:PORT/display, relayed to the hub as device `display_id`."""

    def __init__(self, hub_url: str, ca: Path, cert: Path, key: Path, server_cert: Path,
                 server_key: Path) -> None:  # fmt: skip
        self.hub_url = hub_url
        self.client_ssl = ssl.create_default_context(cafile=str(ca))
        self.client_ssl.load_cert_chain(str(cert), str(key))
        self.server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_ssl.load_cert_chain(str(server_cert), str(server_key))
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        """The display page's address through the relay."""
        return f"https://127.0.0.1:{self.port}/display"

    def start(self) -> DisplayRelay:
        """Start serving in a background thread."""
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the display relay did not start")
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.client_ssl))
        app = web.Application()

        async def events(request: web.Request) -> web.StreamResponse:
            return await self._events(request, session)

        async def get(request: web.Request) -> web.StreamResponse:
            return await self._get(request, session)

        app.router.add_get("/api/v1/events", events)
        app.router.add_get("/{tail:.*}", get)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.server_ssl)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()
            await session.close()

    async def _get(self, request: web.Request, session: aiohttp.ClientSession) -> web.Response:
        if not request.path.startswith(_ALLOWED):
            return web.Response(status=404, text="not relayed")
        async with session.get(f"{self.hub_url}{request.path_qs}") as resp:
            body = await resp.read()
            return web.Response(
                status=resp.status, body=body, content_type=resp.content_type or None
            )

    async def _events(
        self, request: web.Request, session: aiohttp.ClientSession
    ) -> web.WebSocketResponse:
        browser = web.WebSocketResponse()
        await browser.prepare(request)
        try:
            async with session.ws_connect(f"{self.hub_url}{request.path_qs}") as hub:
                async for msg in hub:
                    if msg.type != aiohttp.WSMsgType.TEXT or browser.closed:
                        break
                    await browser.send_str(msg.data)
        except (aiohttp.ClientError, ConnectionError):
            pass  # the page reconnects with since= by itself
        await browser.close()
        return browser
