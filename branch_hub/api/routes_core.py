"""The hub's own routes: health, the event stream with resume, the calling board and display."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from branch_hub import __version__
from branch_hub.api.app import HANDSHAKES, HUB, ctx
from branch_hub.api.connections import CONNECTIONS
from branch_hub.api.errors import ApiError
from branch_hub.api.routes import ALL_KINDS, BOARD_KINDS, Param, Reply, Route
from branch_hub.api.wire_schemas import BOARD
from branch_hub.client.models import Health
from branch_hub.context import RequestContext
from branch_hub.hub import Hub
from branch_hub.push import EventLog, PushEvent, Subscriber
from branch_hub.queue import waiting_snapshot
from branch_hub.resume import Resync, ResyncReason, resume_plan
from branch_hub.security.auth import bearer_token
from branch_hub.vocabulary import PUBLIC_EVENT_KINDS, STAFF_DEVICE_KINDS, WS_CLOSE_SESSION_ENDED
from branch_hub.voice import VOICE_ID

__all__ = ["ROUTES", "WS_CLOSE_RESYNC", "WS_CLOSE_SESSION_ENDED"]

WS_CLOSE_RESYNC = 4000  # application close code: client fell behind and must resume with since=
# WS_CLOSE_SESSION_ENDED (4001, from the vocabulary): the staff session ended; log in again.


async def health(request: web.Request) -> web.Response:
    """Report liveness and the hub's status figures."""
    hub = request.app[HUB]
    loop = asyncio.get_running_loop()
    last = await loop.run_in_executor(None, hub.stream.log.last_seq)
    body = {"status": "ok", "version": __version__, "last_seq": last, **hub.status}
    body["cache"] = await loop.run_in_executor(None, hub.cache_sync.status)
    body["tls_handshakes_failed"] = request.app[HANDSHAKES].failed
    connections = request.app[CONNECTIONS]
    body["connections_open"] = connections.open
    body["connections_refused"] = connections.refused
    body["connections_timed_out"] = connections.timed_out
    return web.json_response(body)


def _since(request: web.Request, last: int) -> int:
    raw = request.query.get("since")
    if raw is None:
        return last
    try:
        since = int(raw)
    except ValueError:
        raise ApiError(
            400, "bad_since", "since must be a whole number (the last seq you saw)"
        ) from None
    if since < 0:
        raise ApiError(400, "bad_since", "since must not be negative")
    return since


async def events(request: web.Request) -> web.StreamResponse:
    """Stream events after `since` over a WebSocket: first from the log, then live."""
    hub = request.app[HUB]
    loop = asyncio.get_running_loop()
    first, last = await loop.run_in_executor(None, hub.stream.log.bounds)
    since = _since(request, last)
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await ws.prepare(request)
    plan = resume_plan(since, first, last)
    if isinstance(plan, Resync):
        # Another hub's or a restored log, or events pruned: the client reloads over REST.
        await _resync(ws, plan)
        return ws
    accepts = _event_filter(ctx(request))
    # Subscribe before replay: nothing falls between the two.
    sub = hub.stream.broadcaster.subscribe(accepts)
    gate = _SessionGate(hub, sub, request.headers.get("Authorization"))
    reader = asyncio.create_task(_drain_incoming(ws))
    reader.add_done_callback(lambda _task: _wake(sub))
    try:
        sent = await _replay(ws, hub.stream.log, since, accepts, gate)
        if sent is not None and not gate.ended:
            await ws.send_json({"type": "live", "seq": sent})
            await _live(ws, sub, sent, gate)
    except (ConnectionError, asyncio.CancelledError):
        pass  # the client went away; it resumes with since= when it returns
    finally:
        gate.release()
        hub.stream.broadcaster.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        if not ws.closed:
            if gate.ended:
                await ws.close(code=WS_CLOSE_SESSION_ENDED, message=b"session ended")
            else:
                await ws.close()
    return ws


class _SessionGate:
    """A staff stream's tie to its session: when the session ends, no event passes any more."""

    def __init__(self, hub: Hub, sub: Subscriber, authorization: str | None) -> None:
        self.ended = False
        self.release: Callable[[], None] = lambda: None
        token = bearer_token(authorization)
        if not token:
            return  # a display: no session to outlive
        security = hub.security
        key = security.sessions.key_of(token)

        def end() -> None:
            # On the loop, before the cause's answer goes out: later events never reach `sub`.
            self.ended = True
            hub.stream.broadcaster.unsubscribe(sub)
            _wake(sub)

        self.release = security.streams.open(key, end)
        if not security.sessions.has(key):  # ended between the request's check and now
            end()


async def _resync(ws: web.WebSocketResponse, plan: Resync) -> None:
    await ws.send_json(plan.to_wire())
    await ws.close(code=WS_CLOSE_RESYNC)


async def _replay(
    ws: web.WebSocketResponse,
    log: EventLog,
    since: int,
    accepts: Callable[[PushEvent], bool] | None,
    gate: _SessionGate,
) -> int | None:
    """Send the kept events after `since`; None when a prune took them meanwhile (resync sent)."""
    loop = asyncio.get_running_loop()
    sent = since
    while batch := await loop.run_in_executor(None, log.since, sent, 500):
        if batch[0].seq != sent + 1:
            await _resync(ws, Resync(ResyncReason.PRUNED, batch[-1].seq))
            return None
        for event in batch:
            if gate.ended:
                return sent
            if accepts is None or accepts(event):
                await ws.send_str(event.wire_json())
            sent = event.seq
    return sent


async def _live(ws: web.WebSocketResponse, sub: Subscriber, sent: int, gate: _SessionGate) -> None:
    """Forward live events until the client goes, its session ends or it falls behind."""
    while not ws.closed and not gate.ended:
        if sub.overflowed:
            await _resync(ws, Resync(ResyncReason.TOO_SLOW, sent))
            return
        # One await per event and no helper tasks: with 20+ tablets this loop runs for
        # every subscriber on every event. The reader wakes it with _GONE when the client goes.
        event = await sub.queue.get()
        if event is _GONE or gate.ended:
            return
        if event.seq > sent:  # replay may already have sent it
            await ws.send_str(event.wire_json())
            sent = event.seq


def _event_filter(context: RequestContext) -> Callable[[PushEvent], bool] | None:
    if context.device_kind in STAFF_DEVICE_KINDS:
        return None
    return lambda event: event.kind in PUBLIC_EVENT_KINDS


_GONE = PushEvent(0, "", "", {})  # queued to a subscriber whose client went away


def _wake(sub: Subscriber) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # a full queue wakes the loop anyway
        sub.queue.put_nowait(_GONE)


async def _drain_incoming(ws: web.WebSocketResponse) -> None:
    """Read (and ignore, unparsed) client messages so pings and close frames are processed."""
    async for msg in ws:
        if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


async def board(request: web.Request) -> web.Response:
    """The calling board snapshot: branch names, services, recent calls, waiting counts."""
    hub = request.app[HUB]
    config = hub.config
    branch = {"name_zh": config.branch.name_zh, "name_en": config.branch.name_en}
    services = [
        {"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en, "prefix": s.prefix}
        for s in config.services
    ]
    loop = asyncio.get_running_loop()
    last = await loop.run_in_executor(None, hub.stream.log.last_seq)
    figures = hub.stream.board.waiting()
    if figures is None:
        figures = await loop.run_in_executor(None, _snapshot, hub)
    return web.json_response(
        {
            "branch": branch,
            "services": services,
            "calls": hub.stream.board.calls(),
            **figures,
            "last_seq": last,
        }
    )


def _snapshot(hub: Hub) -> dict[str, Any]:
    """Waiting counts and ranges read from the queue (before any `waiting_changed` was pushed)."""
    return waiting_snapshot(hub.lobby.queue)


_DISPLAY_FILES = {
    "": ("display.html", "text/html"),
    "app.js": ("app.js", "text/javascript"),
    "style.css": ("style.css", "text/css"),
}


async def display_file(request: web.Request) -> web.Response:
    """Serve one of the display page's fixed files (a whitelist: no paths from the request)."""
    name = request.match_info.get("name", "")
    if name not in _DISPLAY_FILES:
        raise ApiError(404, "not_found", "no such display file")
    filename, content_type = _DISPLAY_FILES[name]
    body = await asyncio.get_running_loop().run_in_executor(None, _web_file, filename)
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def _web_file(filename: str) -> bytes:
    return (resources.files("branch_hub") / "web" / filename).read_bytes()


async def display_voice(request: web.Request) -> web.StreamResponse:
    """Serve a cached announcement WAV by its id."""
    hub = request.app[HUB]
    voice_id = request.match_info["voice_id"]
    if not VOICE_ID.fullmatch(voice_id):
        raise ApiError(404, "not_found", "no such announcement")
    path = hub.voice.path_for(voice_id)
    if not await asyncio.get_running_loop().run_in_executor(None, path.is_file):
        raise ApiError(404, "not_found", "no such announcement")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


_SINCE = Param("since", {"type": "integer", "minimum": 0}, where="query")

ROUTES = (
    Route(
        "GET",
        "/api/v1/health",
        health,
        "health",
        "Liveness and status figures (any enrolled device).",
        ALL_KINDS,
        {200: Reply("The hub is up.", Health)},
    ),
    Route(
        "GET",
        "/api/v1/events",
        events,
        "events",
        "Live events after `since` (WebSocket; replay then live).",
        BOARD_KINDS,
        {101: Reply("Switching to the WebSocket protocol.")},
        session_kinds=STAFF_DEVICE_KINDS,
        params=(_SINCE,),
        websocket=True,
        description="A display gets only the public events (calls, ticket changes, waiting "
        "counts); a tablet or counter needs a staff session and gets every event, until the "
        "session ends (logout, another login on the device, account disabled, idle expiry): "
        "the hub then closes the socket with code 4001 and the device must log in again. A "
        "plain GET without the WebSocket upgrade is refused with 400.",
    ),
    Route(
        "GET",
        "/api/v1/board",
        board,
        "board",
        "The calling board snapshot for the lobby display.",
        BOARD_KINDS,
        {200: Reply("Branch, services, recent calls, waiting counts.", BOARD)},
        refusals=frozenset({503}),
    ),
    Route("GET", "/display", display_file, "display", "The display page.", BOARD_KINDS, {}),
    Route(
        "GET",
        "/display/voice/{voice_id}.wav",
        display_voice,
        "displayVoice",
        "A cached announcement.",
        BOARD_KINDS,
        {},
    ),
    Route(
        "GET", "/display/{name}", display_file, "displayFile", "A display file.", BOARD_KINDS, {}
    ),
)
