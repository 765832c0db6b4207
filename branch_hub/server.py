"""The hub's HTTPS + WebSocket API (aiohttp, which exposes the verified peer certificate)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from branch_hub import __version__
from branch_hub.board import CallBoard
from branch_hub.cache_sync import CacheSync
from branch_hub.config import BranchConfig
from branch_hub.context import RequestContext, context_from_peercert
from branch_hub.push import Broadcaster, EventLog, PushEvent, Subscriber
from branch_hub.security.audit import AuditSink, NullAudit
from branch_hub.security.auth import with_staff
from branch_hub.security.hub import HubSecurity
from branch_hub.security.policy import admit
from branch_hub.voice import VOICE_ID, VoiceCache

if TYPE_CHECKING:  # the lobby imports this module
    from branch_hub.lobby.arrival import Lobby
    from branch_hub.lobby.staffdesk import StaffDesk

__all__ = ["ApiError", "HubApp", "create_app"]

log = logging.getLogger("branch_hub.server")

CONTEXT: web.AppKey[HubApp] = web.AppKey("hub")
REQUEST_CONTEXT: web.RequestKey[RequestContext] = web.RequestKey("ctx", RequestContext)
MAX_BODY = 64 * 1024  # no legitimate request to the hub is larger
WS_CLOSE_RESYNC = 4000  # application close code: client fell behind and must resume with since=


class ApiError(Exception):
    """An error the API reports to the client with a status, a code and a clear message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class HubApp:
    """The running hub's shared state, as handlers see it."""

    log: EventLog
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    status: dict[str, Any] = field(default_factory=dict)
    config: BranchConfig | None = None
    board: CallBoard = field(default_factory=CallBoard)
    voice: VoiceCache | None = None
    waiting_counts: Callable[[], dict[str, int]] = dict
    lobby: Lobby | None = None  # arrivals, kiosk sessions (branch_hub.lobby)
    desk: StaffDesk | None = None  # staff operations (branch_hub.lobby)
    outbox: Any = None  # branch_hub.outbox.Outbox (H9) when present
    security: HubSecurity | None = None
    audit: AuditSink = field(default_factory=NullAudit)
    cache_sync: CacheSync | None = None

    def __post_init__(self) -> None:
        if self.security is not None and isinstance(self.audit, NullAudit):
            self.audit = self.security.audit

    async def emit(self, kind: str, data: dict[str, Any]) -> PushEvent:
        """Persist an event (off the loop), then push it to subscribers."""
        event = await asyncio.get_running_loop().run_in_executor(None, self.log.append, kind, data)
        self.board.apply(event)
        self.broadcaster.publish(event)
        return event


def _error_body(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn every failure into a JSON error; never leak a traceback to the client."""
    try:
        return await handler(request)
    except ApiError as exc:
        return _error_body(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_body(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error_body(500, "internal_error", "internal error; the hub logged the details")


@web.middleware
async def context_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Attach the RequestContext: device from the verified client certificate, staff from the session."""
    peercert = request.transport.get_extra_info("peercert") if request.transport else None
    context = context_from_peercert(peercert)
    security = request.app[CONTEXT].security
    if security is not None:
        context = with_staff(
            context,
            security.sessions,
            request.headers.get("Authorization"),
            security.staff.is_disabled,
        )
        # Routing ran already: judge the route's canonical path, not the raw request path.
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else request.path
        serial = peercert.get("serialNumber") if peercert else None
        refusal = admit(security.devices, route, request.method, context, serial)
        if refusal is not None:
            raise ApiError(refusal.status, refusal.code, refusal.message)
        if context.device_id is not None:
            security.connections.track(context.device_id, request.transport)
    request[REQUEST_CONTEXT] = context
    return await handler(request)


def ctx(request: web.Request) -> RequestContext:
    """Return the request's context."""
    return request[REQUEST_CONTEXT]


async def health(request: web.Request) -> web.Response:
    """Report liveness and the hub's status figures."""
    hub = request.app[CONTEXT]
    body = {"status": "ok", "version": __version__, "last_seq": hub.log.last_seq(), **hub.status}
    if hub.cache_sync is not None:
        body["cache"] = await asyncio.get_running_loop().run_in_executor(
            None, hub.cache_sync.status
        )
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
    hub = request.app[CONTEXT]
    last = await asyncio.get_running_loop().run_in_executor(None, hub.log.last_seq)
    since = _since(request, last)
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await ws.prepare(request)
    if since > last:
        # The client saw events this hub never wrote (another hub, or a restored database).
        await ws.send_json({"type": "resync", "reason": "unknown_seq", "last_seq": last})
        await ws.close(code=WS_CLOSE_RESYNC)
        return ws
    accepts = _event_filter(ctx(request))
    # Subscribe before replay: nothing falls between the two.
    sub = hub.broadcaster.subscribe(accepts)
    reader = asyncio.create_task(_drain_incoming(ws))
    reader.add_done_callback(lambda _task: _wake(sub))
    try:
        sent = since
        loop = asyncio.get_running_loop()
        while True:
            batch = await loop.run_in_executor(None, hub.log.since, sent, 500)
            if not batch:
                break
            for event in batch:
                if accepts is None or accepts(event):
                    await ws.send_str(event.wire_json())
                sent = event.seq
        await ws.send_json({"type": "live", "seq": sent})
        while not ws.closed:
            if sub.overflowed:
                await ws.send_json({"type": "resync", "reason": "too_slow", "last_seq": sent})
                await ws.close(code=WS_CLOSE_RESYNC)
                break
            # One await per event and no helper tasks: with 20+ tablets this loop runs for
            # every subscriber on every event. The reader wakes it with _GONE when the client goes.
            event = await sub.queue.get()
            if event is _GONE:
                break
            if event.seq > sent:  # replay may already have sent it
                await ws.send_str(event.wire_json())
                sent = event.seq
    except (ConnectionError, asyncio.CancelledError):
        pass  # the client went away; it resumes with since= when it returns
    finally:
        hub.broadcaster.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        if not ws.closed:
            await ws.close()
    return ws


# What a device that is not a staff tablet or counter (the lobby display, a kiosk, a browser
# without a certificate) may see: calls and ticket changes, never arrivals, claims or notes.
PUBLIC_EVENT_KINDS = frozenset(
    {
        "called",
        "recalled",
        "no_show",
        "transferred",
        "finished",
        "ticket_updated",
        "waiting_changed",
        "board",
    }
)
STAFF_DEVICE_KINDS = frozenset({"tablet", "counter"})


def _event_filter(context: RequestContext) -> Callable[[PushEvent], bool] | None:
    if context.device_kind in STAFF_DEVICE_KINDS:
        return None
    return lambda event: event.kind in PUBLIC_EVENT_KINDS


_GONE = PushEvent(0, "", "", {})  # queued to a subscriber whose client went away


def _wake(sub: Subscriber) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # a full queue wakes the loop anyway
        sub.queue.put_nowait(_GONE)


async def _drain_incoming(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) client messages so pings and close frames are processed."""
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            with contextlib.suppress(ValueError):
                json.loads(msg.data)
        elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


async def board(request: web.Request) -> web.Response:
    """The calling board snapshot: branch names, services, recent calls, waiting counts."""
    hub = request.app[CONTEXT]
    config = hub.config
    branch = {"name_zh": config.branch.name_zh, "name_en": config.branch.name_en} if config else {}
    services = (
        [
            {"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en, "prefix": s.prefix}
            for s in config.services
        ]
        if config
        else []
    )
    last = await asyncio.get_running_loop().run_in_executor(None, hub.log.last_seq)
    return web.json_response(
        {
            "branch": branch,
            "services": services,
            "calls": hub.board.calls(),
            "waiting": hub.waiting_counts(),
            "last_seq": last,
        }
    )


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
    body = (resources.files("branch_hub") / "web" / filename).read_bytes()
    return web.Response(
        body=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


async def display_voice(request: web.Request) -> web.StreamResponse:
    """Serve a cached announcement WAV by its id."""
    hub = request.app[CONTEXT]
    voice_id = request.match_info["voice_id"]
    if hub.voice is None or not VOICE_ID.fullmatch(voice_id):
        raise ApiError(404, "not_found", "no such announcement")
    path = hub.voice.path_for(voice_id)
    if not path.exists():
        raise ApiError(404, "not_found", "no such announcement")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


def create_app(hub: HubApp) -> web.Application:
    """Build the aiohttp application for a hub."""
    app = web.Application(
        middlewares=[error_middleware, context_middleware], client_max_size=MAX_BODY
    )
    app[CONTEXT] = hub
    app.router.add_get("/api/v1/health", health)
    app.router.add_get("/api/v1/events", events)
    app.router.add_get("/api/v1/board", board)
    app.router.add_get("/display", display_file)
    app.router.add_get("/display/voice/{voice_id}.wav", display_voice)
    app.router.add_get("/display/{name}", display_file)
    from branch_hub.routes_kiosk import add_kiosk_routes
    from branch_hub.routes_staff import add_staff_routes
    from branch_hub.security.routes import add_security_routes  # imports this module

    add_security_routes(app)
    add_kiosk_routes(app)
    add_staff_routes(app)
    return app
