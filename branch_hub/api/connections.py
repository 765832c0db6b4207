"""Holding slow or greedy clients to bounds: connection caps, and deadlines on every request.

A connection is counted from accept (before its TLS handshake) until it closes. One peer address
may hold `per_address` connections and all peers together `capacity`; past either, a new
connection is closed at accept. After its handshake a connection has `header_timeout_s` to send a
request's complete headers (from the handshake, or from the first byte after the previous
request), then `body_timeout_s` to finish the request's body, and may idle `idle_timeout_s`
between requests (aiohttp's keep-alive timeout, counted from the end of the response). A request whose handler is running (an event stream, for hours) has no
deadline: the handler, not the connection, decides when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from aiohttp import web

from branch_hub.config import HubSettings

__all__ = [
    "CONNECTIONS",
    "ConnectionLimits",
    "Connections",
    "GuardedConnection",
    "PeerLog",
    "connection_middleware",
]

log = logging.getLogger("branch_hub.api.connections")

LOG_EVERY_S = 60.0  # one line per peer address and kind of event in this long
MAX_PEERS = 4096  # peers remembered for that; past it, the quiet ones are forgotten
RESERVED_FILES = 256  # descriptors kept for the hub's own database, logs and certificates


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a connection may take for each step, and how many connections may be open."""

    handshake_timeout_s: float = 10.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    idle_timeout_s: float = 30.0
    per_address: int = 64
    total: int = 4096

    @classmethod
    def from_settings(cls, hub: HubSettings) -> ConnectionLimits:
        """The limits the `[hub]` table sets."""
        return cls(
            handshake_timeout_s=hub.tls_handshake_timeout_s,
            header_timeout_s=hub.header_timeout_s,
            body_timeout_s=hub.body_timeout_s,
            idle_timeout_s=hub.keepalive_timeout_s,
            per_address=hub.max_connections_per_address,
            total=hub.max_connections,
        )


class PeerLog:
    """Log lines about peers, at most one per peer and kind a minute; the rest are counted."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, every_s: float = LOG_EVERY_S
    ) -> None:
        self._clock = clock
        self._every_s = every_s
        self._last: dict[tuple[str, str], tuple[float, int]] = {}  # (peer, kind) -> (at, since)

    def note(self, peer: str, kind: str, message: str) -> None:
        """Log `message` about `peer` unless a line of this kind about it went out lately."""
        now = self._clock()
        last = self._last.get((peer, kind))
        if last is not None and now - last[0] < self._every_s:
            self._last[(peer, kind)] = (last[0], last[1] + 1)
            return
        if len(self._last) >= MAX_PEERS:
            quiet = [k for k, (at, _) in self._last.items() if now - at >= self._every_s]
            for key in quiet or list(self._last):
                del self._last[key]
        self._last[(peer, kind)] = (now, 0)
        more = f" ({last[1]} more since the last report)" if last is not None and last[1] else ""
        log.warning("%s%s", message, more)


class Connections:
    """The open connections per peer address, the caps on them, and what was refused or cut."""

    def __init__(self, limits: ConnectionLimits, peer_log: PeerLog | None = None) -> None:
        self.limits = limits
        self.capacity = limits.total
        self.refused = 0
        self.timed_out = 0
        self.open = 0
        self._per_peer: dict[str, int] = {}
        self._guards: dict[object, GuardedConnection] = {}
        self._log = peer_log or PeerLog()

    def fit_to_open_files(self, soft_limit: int) -> None:
        """Lower the total cap so that connections never take the hub's last descriptors."""
        self.capacity = max(1, min(self.limits.total, soft_limit - RESERVED_FILES))

    def admit(self, peer: str) -> bool:
        """Count a new connection from `peer`, or refuse it (False) when a cap is reached."""
        held = self._per_peer.get(peer, 0)
        if held >= self.limits.per_address or self.open >= self.capacity:
            self.refused += 1
            which = "per address" if held >= self.limits.per_address else "in all"
            self._log.note(
                peer,
                "refused",
                f"refused connections from {peer}: the cap of "
                f"{self.limits.per_address if which == 'per address' else self.capacity} "
                f"connections {which} is reached",
            )
            return False
        self._per_peer[peer] = held + 1
        self.open += 1
        return True

    def release(self, peer: str) -> None:
        """Forget one closed connection from `peer`."""
        held = self._per_peer.get(peer, 0) - 1
        if held > 0:
            self._per_peer[peer] = held
        else:
            self._per_peer.pop(peer, None)
        self.open -= 1

    def cut(self, peer: str, why: str) -> None:
        """Count (and log, once a minute per peer) a connection closed for being too slow."""
        self.timed_out += 1
        self._log.note(peer, "timed out", f"closed a connection from {peer}: {why}")

    def guard_of(self, protocol: object) -> GuardedConnection | None:
        """The guard around an application protocol (None for a site without guards)."""
        return self._guards.get(protocol)

    def watch(self, protocol: object, guard: GuardedConnection | None) -> None:
        """Remember (or, with None, forget) the guard around an application protocol."""
        if guard is None:
            self._guards.pop(protocol, None)
        else:
            self._guards[protocol] = guard


CONNECTIONS: web.AppKey[Connections] = web.AppKey("connections", Connections)


class GuardedConnection(asyncio.Protocol):
    """The application's protocol for one TLS connection, behind the deadlines."""

    def __init__(self, app: asyncio.Protocol, peer: str, connections: Connections) -> None:
        self._app = app
        self._peer = peer
        self._connections = connections
        self._limits = connections.limits
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._idle = False  # between requests, before the next request's first byte
        self._released = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a TLS transport
        self._connections.watch(self._app, self)
        self._app.connection_made(transport)
        self._arm(self._limits.header_timeout_s, self._headers_late)

    def data_received(self, data: bytes) -> None:
        if self._idle:
            self._idle = False
            self._arm(self._limits.header_timeout_s, self._headers_late)
        self._app.data_received(data)

    def eof_received(self) -> bool | None:
        return self._app.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._connections.watch(self._app, None)
        if not self._released:
            self._released = True
            self._connections.release(self._peer)
        self._app.connection_lost(exc)

    def pause_writing(self) -> None:
        self._app.pause_writing()

    def resume_writing(self) -> None:
        self._app.resume_writing()

    def request_started(self, body_done: Callable[[], bool] | None) -> None:
        """The request's headers arrived; `body_done` tells whether its body has arrived."""
        self._idle = False
        if body_done is None or body_done():
            self._disarm()
            return
        self._arm(self._limits.body_timeout_s, lambda: self._body_late(body_done))

    def request_ended(self) -> None:
        """The request's handler returned: the next request's deadline starts at its first byte.

        The idle time in between is aiohttp's keep-alive timeout (set to `idle_timeout_s`), which
        starts only once the response is written, so a long download is never cut as idle.
        """
        self._idle = True
        self._disarm()

    def _arm(self, delay_s: float, expire: Callable[[], None]) -> None:
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(delay_s, expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_late(self) -> None:
        self._cut(f"no complete request headers in {self._limits.header_timeout_s:g} s")

    def _body_late(self, body_done: Callable[[], bool]) -> None:
        if not body_done():
            self._cut(f"the request body took over {self._limits.body_timeout_s:g} s")

    def _cut(self, why: str) -> None:
        self._timer = None
        self._connections.cut(self._peer, why)
        if self._transport is not None:
            self._transport.abort()


@web.middleware
async def connection_middleware(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Stop the request's deadlines once its headers (and body) arrived; rearm them after."""
    guard = request.app[CONNECTIONS].guard_of(request.protocol)
    if guard is None:
        return await handler(request)
    guard.request_started(request.content.is_eof if request.body_exists else None)
    try:
        return await handler(request)
    finally:
        guard.request_ended()
