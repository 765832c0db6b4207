"""Serving TLS so that a failed handshake is seen: counted, and logged once a minute per peer.

asyncio's own TLS server drops a failed handshake silently (an `ssl.SSLError` is an `OSError`,
which it reports only in debug mode), so the site accepts plain TCP and upgrades each
connection itself with `loop.start_tls`, which raises the handshake's error to the caller.
The application's protocol is created only after a handshake succeeded, behind the deadlines of
`connections.GuardedConnection`; a connection over a cap is closed at accept, before any TLS work.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable

from aiohttp import web

from branch_hub.api.connections import Connections, GuardedConnection
from branch_hub.api.logflood import LogFloodFilter, install_flood_filter

__all__ = ["HandshakeWatch", "TlsSite"]

log = logging.getLogger("branch_hub.api.tls")

LOG_EVERY_S = 60.0  # one line per peer address in this long, however many failures
MAX_PEERS = 4096  # peers remembered for that; past it, the quiet ones are forgotten


class HandshakeWatch:
    """Failed TLS handshakes: how many, and a log line per peer address at most once a minute."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, every_s: float = LOG_EVERY_S
    ) -> None:
        self.failed = 0
        self._clock = clock
        self._every_s = every_s
        self._peers: dict[str, tuple[float, int]] = {}  # address -> (last logged, failed since)

    def record(self, peer: str, exc: BaseException) -> None:
        """Count one failed handshake from `peer`; log it unless that peer was logged lately."""
        self.failed += 1
        now = self._clock()
        last = self._peers.get(peer)
        if last is not None and now - last[0] < self._every_s:
            self._peers[peer] = (last[0], last[1] + 1)
            return
        if len(self._peers) >= MAX_PEERS:
            self._forget(now)
        self._peers[peer] = (now, 0)
        more = f" ({last[1]} more since the last report)" if last is not None and last[1] else ""
        log.warning("TLS handshake from %s failed: %s%s", peer, _reason(exc), more)

    def _forget(self, now: float) -> None:
        quiet = [p for p, (at, _) in self._peers.items() if now - at >= self._every_s]
        for peer in quiet or list(self._peers):
            del self._peers[peer]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(getattr(exc, "reason", None) or type(exc).__name__)
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionError):
        return "the connection closed during the handshake"
    return type(exc).__name__


async def _report_every(flood: LogFloodFilter, every_s: float) -> None:
    """Say every so often how many repeated error lines the flood filter held back."""
    while True:
        await asyncio.sleep(every_s)
        flood.report()


class _TlsAcceptor(asyncio.Protocol):
    """One accepted connection until its TLS handshake ends; then the application's."""

    def __init__(self, site: TlsSite) -> None:
        self._site = site
        self._peer = "unknown"
        self._early: list[bytes] = []  # application data that came with the handshake's end
        self._eof = False
        self._lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):  # a listening TCP socket gives one
            transport.close()
            return
        peername = transport.get_extra_info("peername")
        self._peer = str(peername[0]) if peername else "unknown"
        if not self._site.connections.admit(self._peer):
            transport.abort()  # at a cap: refused before any TLS work
            return
        transport.pause_reading()  # start_tls reads the handshake; nothing may come before
        self._site.track(asyncio.get_running_loop().create_task(self._accept(transport)))

    async def _accept(self, raw: asyncio.Transport) -> None:
        connections = self._site.connections
        guarded = False
        try:
            guarded = await self._handshake(raw)
        finally:
            if not guarded:  # else the guard releases the connection when it closes
                connections.release(self._peer)

    async def _handshake(self, raw: asyncio.Transport) -> bool:
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(
                raw,
                self,
                self._site.ssl_context,
                server_side=True,
                ssl_handshake_timeout=self._site.handshake_timeout_s,
            )
        except (OSError, TimeoutError) as exc:  # an ssl.SSLError is an OSError
            self._site.watch.record(self._peer, exc)
            return False
        if tls is None or self._lost:
            return False
        app = GuardedConnection(self._site.make_protocol(), self._peer, self._site.connections)
        tls.set_protocol(app)
        app.connection_made(tls)
        for chunk in self._early:
            app.data_received(chunk)
        if self._eof:
            app.eof_received()
        return True

    def data_received(self, data: bytes) -> None:
        self._early.append(data)

    def eof_received(self) -> bool:
        self._eof = True
        return True  # the application decides once it has the connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True


class TlsSite(web.BaseSite):
    """An HTTPS site on host:port whose failed handshakes a HandshakeWatch counts and logs."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext,
        watch: HandshakeWatch,
        connections: Connections,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self.ssl_context = ssl_context
        self.watch = watch
        self.connections = connections
        self.handshake_timeout_s = connections.limits.handshake_timeout_s
        self._host = host
        self._port = port
        self._handshakes: set[asyncio.Task[None]] = set()
        self._reporter: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The site's URL."""
        return f"https://{self._host}:{self._port}"

    def make_protocol(self) -> asyncio.Protocol:
        """The application's protocol for one connection."""
        server = self._runner.server
        if server is None:
            raise RuntimeError("the site's runner was cleaned up")
        return server()

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a handshake's task until it ends (and cancel it when the site stops)."""
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)

    async def start(self) -> None:
        """Listen on host:port."""
        await super().start()
        flood = install_flood_filter()
        self._reporter = asyncio.get_running_loop().create_task(_report_every(flood, LOG_EVERY_S))
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _TlsAcceptor(self),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )

    async def stop(self) -> None:
        """Stop listening and drop the handshakes under way."""
        for task in list(self._handshakes):
            task.cancel()
        if self._reporter is not None:
            self._reporter.cancel()
        await super().stop()
