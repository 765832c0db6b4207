"""Kiosk endpoints (device kind `kiosk`; the station is the certificate's CN)."""

from __future__ import annotations

import asyncio
import contextlib
import re

from aiohttp import WSMsgType, web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import json_body, opt_str, req_str
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require_kiosk
from branch_hub.api.routes import Body, Reply, Route
from branch_hub.client.models import (
    SCANNED_MAX_CHARS,
    Ended,
    KioskSession,
    Menu,
    ScanRequest,
    TicketIssued,
    TicketRequest,
    TicketUpgraded,
    UpgradeRequest,
)
from branch_hub.lobby.arrival import Lobby
from branch_hub.vocabulary import DeviceKind, KioskMessage, WriteClass

__all__ = ["ROUTES"]


def _lobby(request: web.Request) -> Lobby:
    return request.app[HUB].lobby


async def menu(request: web.Request) -> web.Response:
    """Branch, services, waiting counts and wait ranges for the kiosk's menu."""
    require_kiosk(request)
    lobby = _lobby(request)
    body = await asyncio.get_running_loop().run_in_executor(None, lobby.menu)
    return web.json_response(body)


async def session(request: web.Request) -> web.Response:
    """The calling station's session, or idle."""
    station = require_kiosk(request)
    return web.json_response(_lobby(request).session_wire(station))


async def end_session(request: web.Request) -> web.Response:
    """End (forget) the calling station's session."""
    station = require_kiosk(request)
    lobby = _lobby(request)
    ended = lobby.sessions.end(station, "kiosk")
    await lobby.reads_forgotten(station)  # gone from disk too: a restart cannot bring it back
    return web.json_response({"ended": ended})


_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


async def tickets(request: web.Request) -> web.Response:
    """Issue a ticket for the station's customer (or a walk-in) and print it."""
    station = require_kiosk(request)
    lobby = _lobby(request)
    body = await json_body(request)
    service = req_str(body, "service", max_len=32)
    if (
        "session_id" in body
        and body["session_id"] is not None
        and not isinstance(body["session_id"], str)
    ):
        raise ApiError(400, "bad_session_id", "'session_id' must be a string or null")
    session_id = opt_str(body, "session_id", max_len=64)
    request_id = opt_str(body, "request_id", max_len=64)
    if request_id is not None and not _REQUEST_ID.fullmatch(request_id):
        raise ApiError(
            400, "bad_request_id", "'request_id' must be 8-64 letters, digits, '-' or '_'"
        )
    result = await lobby.issue_ticket(station, service, session_id, request_id)
    return web.json_response(result.to_wire(), status=200 if result.replayed else 201)


async def scan(request: web.Request) -> web.Response:
    """An appointment QR read by the kiosk's camera: recognise and check in, as a card read."""
    station = require_kiosk(request)
    body = await json_body(request)
    code = req_str(body, "code", max_len=SCANNED_MAX_CHARS)
    session_wire = await request.app[HUB].kiosk_scan.scan(station, code)
    return web.json_response(session_wire)


async def upgrade(request: web.Request) -> web.Response:
    """A printed ticket's QR shown by the station's recognised customer: identify it in place."""
    station = require_kiosk(request)
    body = await json_body(request)
    code = req_str(body, "code", max_len=SCANNED_MAX_CHARS)
    request_id = opt_str(body, "request_id", max_len=64)
    answer = await request.app[HUB].kiosk_scan.upgrade(station, code, request_id)
    return web.json_response(answer)


async def kiosk_events(request: web.Request) -> web.StreamResponse:
    """Station-scoped live messages for the kiosk (not persisted, no replay)."""
    station = require_kiosk(request)
    lobby = _lobby(request)
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await ws.prepare(request)
    queue = lobby.sessions.listen(station)
    reader = asyncio.create_task(_drain(ws))
    try:
        await ws.send_json({"kind": KioskMessage.SESSION, "data": lobby.session_wire(station)})
        while not ws.closed:
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            await ws.send_json(getter.result())
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        lobby.sessions.unlisten(station, queue)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        if not ws.closed:
            await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


_KIOSK = frozenset({DeviceKind.KIOSK})
_ISSUED = "Issued; `print` says whether the paper ticket came out."
_SCANNED = (
    "The session a card read would start: `recognised` with the greeting, and `appointment` "
    "with the reserved ticket when the booking was due (the session has then ended)."
)
_UPGRADED = "The ticket (same number) and what identifying it did: `upgraded`, `identified` or `already_yours`."
_REPLAYED = "A repeated request_id: the ticket issued the first time, printed again (`replayed`)."

ROUTES = (
    Route(
        "GET",
        "/api/v1/kiosk/menu",
        menu,
        "kioskMenu",
        "Branch and services with waiting counts and wait ranges.",
        _KIOSK,
        {200: Reply("The menu.", Menu)},
        refusals=frozenset({503}),
    ),
    Route(
        "GET",
        "/api/v1/kiosk/session",
        session,
        "kioskSession",
        "The calling station's session, or idle.",
        _KIOSK,
        {200: Reply("The session (never a full name, number or amount).", KioskSession)},
    ),
    Route(
        "POST",
        "/api/v1/kiosk/session/end",
        end_session,
        "kioskSessionEnd",
        "End (forget) the station's session.",
        _KIOSK,
        {200: Reply("Whether a session was live.", Ended)},
        limit=WriteClass.SESSION,
    ),
    Route(
        "GET",
        "/api/v1/kiosk/events",
        kiosk_events,
        "kioskEvents",
        "Station-scoped kiosk messages (WebSocket, not persisted, no replay).",
        _KIOSK,
        {101: Reply("Switching to the WebSocket protocol.")},
        websocket=True,
        description="A plain GET without the WebSocket upgrade is refused with 400.",
    ),
    Route(
        "POST",
        "/api/v1/kiosk/tickets",
        tickets,
        "kioskTicket",
        "Issue a ticket for the station's customer (or a walk-in) and print it.",
        _KIOSK,
        {201: Reply(_ISSUED, TicketIssued), 200: Reply(_REPLAYED, TicketIssued)},
        body=Body(TicketRequest, example={"service": "cash", "session_id": None}),
        refusals=frozenset({409, 503}),
        limit=WriteClass.TICKET,
    ),
    Route(
        "POST",
        "/api/v1/kiosk/scan",
        scan,
        "kioskScan",
        "Check a booked customer in by the appointment QR HQ texted them (the kiosk's camera).",
        _KIOSK,
        {200: Reply(_SCANNED, KioskSession)},
        body=Body(ScanRequest, example={"code": "branchedge://appointment?t=" + "A" * 22}),
        refusals=frozenset({404, 429}),
        limit=WriteClass.SESSION,
        description="Any code that is not one of today's bookings at this branch (malformed, "
        "unknown, another day or branch) gets the same 404 `unknown_code`; after 10 wrong codes "
        "in a minute the station gets 429 `too_many_codes` with Retry-After. Nothing changes on "
        "a refusal.",
    ),
    Route(
        "POST",
        "/api/v1/kiosk/session/upgrade",
        upgrade,
        "kioskSessionUpgrade",
        "Identify a printed ticket (its QR's text) with the station's recognised customer.",
        _KIOSK,
        {200: Reply(_UPGRADED, TicketUpgraded)},
        body=Body(UpgradeRequest, example={"code": "https://q.branch.example/t/" + "A" * 43}),
        refusals=frozenset({404, 409, 429}),
        limit=WriteClass.SESSION,
        description="The ticket keeps its number and takes the customer's class from the time "
        "it was issued (the `identified` queue event); the brief is pushed and the session "
        "ends. Refused: no recognised customer (409 `session_expired`), not a ticket of today "
        "(404 `not_a_ticket`), called or finished (409 `ticket_not_waiting`), another "
        "customer's (409 `already_identified`).",
    ),
)
