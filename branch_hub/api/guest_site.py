"""Serving the guest listener: plain HTTP on its own site, connections capped at accept."""

from __future__ import annotations

import asyncio

from aiohttp import web

from branch_hub.api.connections import CONNECTIONS, Connections, GuardedConnection
from branch_hub.api.guest import create_guest_app
from branch_hub.hub import Hub

__all__ = ["GuestSite", "start_guest_site"]


class _Admit(asyncio.Protocol):
    """Counts a new connection against the caps, then hands it to the application."""

    def __init__(self, site: GuestSite) -> None:
        self._site = site

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):
            transport.close()
            return
        peername = transport.get_extra_info("peername")
        peer = str(peername[0]) if peername else "unknown"
        connections = self._site.connections
        if not connections.admit(peer):
            transport.abort()
            return
        guard = GuardedConnection(self._site.make_protocol(), peer, connections)
        transport.set_protocol(guard)
        guard.connection_made(transport)


class GuestSite(web.BaseSite):
    """A plain-HTTP site whose connections the application's `Connections` caps and times."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, connections: Connections):
        super().__init__(runner)
        self.connections = connections
        self._host, self._port = host, port

    @property
    def name(self) -> str:
        """The site's URL."""
        return f"http://{self._host}:{self._port}"

    def make_protocol(self) -> asyncio.Protocol:
        """The application's protocol for one connection."""
        server = self._runner.server
        if server is None:
            raise RuntimeError("the site's runner was cleaned up")
        return server()

    async def start(self) -> None:
        """Listen on host:port."""
        await super().start()
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Admit(self), self._host, self._port, backlog=self._backlog, reuse_address=True
        )


async def start_guest_site(
    hub: Hub, host: str, port: int, shutdown_timeout_s: float = 5.0
) -> web.AppRunner:
    """Serve the guest listener on host:port (0: a free port); return its runner.

    No access log: each request's path holds a ticket's pass.
    """
    app = create_guest_app(hub)
    connections = app[CONNECTIONS]
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=shutdown_timeout_s,
        keepalive_timeout=connections.limits.idle_timeout_s,
    )
    await runner.setup()
    await GuestSite(runner, host, port, connections).start()
    return runner
