"""The guest listener: a ticket's page for the customer's phone, and nothing else.

Its own application on its own site (plain HTTP on the guest Wi-Fi, no client certificate):
  GET /t/{token}          the page (Chinese first, ?lang=en for English)
  GET /t/{token}/state    the ticket's view as JSON
  GET /t/{token}/events   the same view as Server-Sent Events, on every queue change
Every other path, and every pass that opens nothing, gets the same 404 page. No access log:
the token is in the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

from aiohttp import web

from branch_hub.api.connections import (
    CONNECTIONS,
    ConnectionLimits,
    Connections,
    connection_middleware,
)
from branch_hub.api.guest_limits import AddressBudget, StreamSlots
from branch_hub.api.guest_page import HEADERS, expired_page, ticket_page
from branch_hub.hub import Hub
from branch_hub.lobby.guest import GuestState, GuestView, parse_token
from branch_hub.push import Broadcaster

__all__ = ["GUEST", "Guest", "create_guest_app"]

log = logging.getLogger("branch_hub.guest")

STREAM_S = 600.0  # a stream ends after this; the browser reconnects (bounded holding)
KEEPALIVE_S = 20.0
REQUESTS_PER_GUESS = 10  # the budget of all requests, as a multiple of the guesses'
_FINAL = {GuestState.DONE, GuestState.EXPIRED}
_HEADERS = {**HEADERS, "Server": "branch-hub"}  # as the API: no software version


class Pulse:
    """Wakes every live stream when the hub publishes an event (one subscriber for them all)."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    async def run(self, broadcaster: Broadcaster) -> None:
        """Follow the hub's events until cancelled."""
        while True:
            sub = broadcaster.subscribe()
            try:
                while not sub.overflowed:
                    await sub.queue.get()
                    self.fire()
            finally:
                broadcaster.unsubscribe(sub)
            self.fire()

    def fire(self) -> None:
        """Wake the waiting streams."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, timeout_s: float) -> bool:
        """Whether something changed within `timeout_s`."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await changed.wait()
        return changed.is_set()


class Guest:
    """The guest listener's state: the hub's passes, the budgets, the streams."""

    def __init__(self, hub: Hub) -> None:
        settings = hub.config.guest
        self.hub = hub
        self.guesses = AddressBudget("unknown-ticket requests", settings.guesses_per_min)
        self.requests = AddressBudget("requests", settings.guesses_per_min * REQUESTS_PER_GUESS)
        self.streams = StreamSlots(settings.max_streams)
        self.pulse = Pulse()
        self._following: asyncio.Task[None] | None = None

    async def view(self, token: str | None) -> GuestView | None:
        """The pass's view, off the loop (None: it opens nothing)."""
        if token is None:
            return None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.hub.guest.view, token)

    async def start(self, _app: web.Application) -> None:
        """Follow the hub's events for the live streams."""
        broadcaster = self.hub.stream.broadcaster
        self._following = asyncio.create_task(self.pulse.run(broadcaster), name="guest-pulse")

    async def stop(self, _app: web.Application) -> None:
        """Stop following."""
        if self._following is not None:
            self._following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._following


GUEST: web.AppKey[Guest] = web.AppKey("guest", Guest)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _address(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return str(peer[0]) if peer else "unknown"


def _too_many(wait_s: int) -> web.Response:
    return web.Response(
        status=429,
        text="请求过于频繁，请稍后再试。Too many requests; please try again shortly.",
        headers={"Retry-After": str(wait_s)},
    )


def _gone() -> web.Response:
    return web.Response(status=404, text=expired_page(), content_type="text/html", charset="utf-8")


@web.middleware
async def guest_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Budgets per address, the one 404 page, and the security headers on every answer."""
    guest, address = request.app[GUEST], _address(request)
    wait_s = guest.requests.wait_s(address) or guest.guesses.wait_s(address)
    if wait_s:
        response: web.StreamResponse = _too_many(wait_s)
    else:
        guest.requests.spend(address)
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # no route, wrong method: the same page as a bad pass
            if exc.status >= 500:
                raise
            response = _gone()
        if response.status == 404:
            guest.guesses.spend(address)
    if not response.prepared:
        response.headers.update(_HEADERS)
    return response


async def _page(request: web.Request) -> web.StreamResponse:
    view = await request.app[GUEST].view(parse_token(request.match_info["token"]))
    if view is None:
        return _gone()
    html = ticket_page(view, request.query.get("lang", "zh"))
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def _state(request: web.Request) -> web.StreamResponse:
    view = await request.app[GUEST].view(parse_token(request.match_info["token"]))
    if view is None:
        return _gone()
    return web.json_response(view.to_wire(), dumps=lambda v: json.dumps(v, ensure_ascii=False))


def _event(view: GuestView | None) -> bytes:
    wire = view.to_wire() if view is not None else {"state": GuestState.EXPIRED.value}
    return f"data: {json.dumps(wire, ensure_ascii=False)}\n\n".encode()


async def _events(request: web.Request) -> web.StreamResponse:
    guest, token = request.app[GUEST], parse_token(request.match_info["token"])
    view = await guest.view(token)
    if view is None:
        return _gone()
    address = _address(request)
    if not guest.streams.take(address):
        return _too_many(10)
    try:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **_HEADERS})
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        with contextlib.suppress(ConnectionResetError):  # the phone went away
            async for frame in _frames(guest, token, view):
                await response.write(frame)
        return response
    finally:
        guest.streams.give_back(address)


async def _frames(guest: Guest, token: str | None, view: GuestView | None) -> AsyncIterator[bytes]:
    """The stream's frames: the view now, then on every change, for at most STREAM_S."""
    loop = asyncio.get_running_loop()
    until = loop.time() + STREAM_S
    yield _event(view)
    while view is not None and view.state not in _FINAL and loop.time() < until:
        if not await guest.pulse.wait(min(KEEPALIVE_S, max(0.0, until - loop.time()))):
            yield b": still here\n\n"
            continue
        now = await guest.view(token)
        if now != view:
            view = now
            yield _event(view)


def create_guest_app(hub: Hub) -> web.Application:
    """The guest listener's application: three routes, no /api/v1."""
    limits = replace(
        ConnectionLimits.from_settings(hub.config.hub),
        total=hub.config.guest.max_connections,
        per_address=16,
    )
    app = web.Application(
        middlewares=[connection_middleware, guest_middleware], client_max_size=1024
    )
    app[CONNECTIONS] = Connections(limits)
    app[GUEST] = guest = Guest(hub)
    app.on_startup.append(guest.start)
    app.on_cleanup.append(guest.stop)
    app.router.add_get("/t/{token}", _page, allow_head=False)
    app.router.add_get("/t/{token}/state", _state, allow_head=False)
    app.router.add_get("/t/{token}/events", _events, allow_head=False)
    return app
