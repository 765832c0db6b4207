"""The hub's HTTPS + WebSocket application: middlewares, the hub's key and the route table."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web, web_response

from branch_hub.api.errors import ApiError, error_response, refusal_for
from branch_hub.api.handshakes import HandshakeWatch
from branch_hub.context import RequestContext, context_from_peercert
from branch_hub.hub import Hub
from branch_hub.security.auth import with_staff
from branch_hub.security.hub import HubSecurity
from branch_hub.security.policy import Refusal, admit

__all__ = [
    "HANDSHAKES",
    "HUB",
    "MAX_BODY",
    "SERVER_NAME",
    "context_middleware",
    "ctx",
    "error_middleware",
    "hide_server_version",
]

log = logging.getLogger("branch_hub.api")

HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
HANDSHAKES: web.AppKey[HandshakeWatch] = web.AppKey("handshakes", HandshakeWatch)
REQUEST_CONTEXT: web.RequestKey[RequestContext] = web.RequestKey("ctx", RequestContext)
MAX_BODY = 64 * 1024  # no legitimate request to the hub is larger
SERVER_NAME = "branch-hub"  # the `Server` header: no product or version for a scanner to match
# aiohttp's own refusals whose reason phrase says too little: reason code, English message.
_HTTP_REFUSALS = {
    405: ("method_not_allowed", "this path does not take that method (see Allow)"),
    413: ("body_too_large", f"the request body is larger than {MAX_BODY // 1024} KiB"),
}
# Refusals whose English message names the specific problem (the table's is generic).
_DETAILED = frozenset(
    {
        "bad_entry",
        "invalid_transition",
        "queue_refused",
        "account_locked",
        "enrolment_refused",
        "renewal_not_due",
        "too_many_renewals",
    }
)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn every failure into a JSON error; never leak a traceback to the client."""
    try:
        return await handler(request)
    except ApiError as exc:
        response = error_response(exc.status, exc.code, exc.message, exc.message_zh)
        response.headers.update(exc.headers)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_REFUSALS.get(
            exc.status, (exc.reason.lower().replace(" ", "_"), exc.reason)
        )
        response = error_response(
            exc.status, code, message, ApiError(exc.status, code, "").message_zh
        )
        if "Allow" in exc.headers:  # a 405 names the methods the path takes
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        if isinstance(exc, ConnectionResetError) and _client_gone(request):
            return web.Response(status=499)  # left, or cut for slowness, mid-body: no one to tell
        refusal = refusal_for(exc)
        if refusal is not None:
            message = (
                f"{str(exc).capitalize()}." if refusal.code in _DETAILED else refusal.message_en
            )
            response = error_response(refusal.status, refusal.code, message, refusal.message_zh)
            wait = getattr(exc, "retry_after_s", None)
            if refusal.status == 429 and isinstance(wait, int | float):
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(
            500,
            "internal_error",
            "internal error; the hub logged the details",
            "系统内部错误，已记录详情。",
        )


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


@web.middleware
async def context_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Attach the caller: device from the verified client certificate, staff from the session."""
    peercert = request.transport.get_extra_info("peercert") if request.transport else None
    security = request.app[HUB].security
    # Routing ran already: judge the route's canonical path, not the raw request path.
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else request.path
    # The device registry and staff accounts are SQLite files another process may be writing
    # (branch-provision revoke): they are read in a worker thread, never on the event loop.
    context, refusal = await asyncio.get_running_loop().run_in_executor(
        None,
        _admission,
        security,
        peercert,
        request.headers.get("Authorization"),
        route,
        request.method,
    )
    if refusal is not None:
        raise ApiError(refusal.status, refusal.code, refusal.message)
    if context.device_id is not None:
        security.connections.track(context.device_id, request.transport)
    request[REQUEST_CONTEXT] = context
    return await handler(request)


def _admission(
    security: HubSecurity,
    peercert: dict[str, Any] | None,
    authorization: str | None,
    route: str,
    method: str,
) -> tuple[RequestContext, Refusal | None]:
    """The caller (device and staff) and whether the request may reach its handler."""
    context = with_staff(
        context_from_peercert(peercert),
        security.sessions,
        authorization,
        security.staff.is_disabled,
    )
    serial = peercert.get("serialNumber") if peercert else None
    return context, admit(security.devices, route, method, context, serial)


def ctx(request: web.Request) -> RequestContext:
    """Return the request's caller."""
    return request[REQUEST_CONTEXT]


def hide_server_version(app: web.Application) -> None:
    """Answer every response with a neutral `Server` header instead of aiohttp's version."""
    app.on_response_prepare.append(_neutral_server)
    # aiohttp's own answers to a malformed request line or header never reach the application's
    # signals; they take the header from this module default.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]


async def _neutral_server(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER_NAME
