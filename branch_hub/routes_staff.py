"""Staff endpoints (device kinds `tablet`/`counter`, with a staff session)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from branch_hub.lobby.access import STAFF_ROLES, require_staff
from branch_hub.lobby.bodies import json_body, opt_str, path_param, req_str
from branch_hub.lobby.staffdesk import OUTCOMES, StaffDesk
from branch_hub.server import CONTEXT, ApiError

__all__ = ["add_staff_routes"]

_VISIT_ID = re.compile(r"^[0-9a-f]{16}$")
_TICKET_ID = re.compile(r"^[0-9]{8}-[A-Z][0-9]{3,6}$")
_LEAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_QUEUE_ROLES = frozenset(
    {"lobby_manager", "teller", "account_manager", "wealth_manager", "branch_admin"}
)
_DASHBOARD_ROLES = frozenset({"lobby_manager", "branch_admin"})


def _desk(request: web.Request) -> StaffDesk:
    desk = request.app[CONTEXT].desk
    if desk is None:
        raise ApiError(503, "lobby_unavailable", "the lobby service is not running on this hub")
    return desk


async def visits(request: web.Request) -> web.Response:
    """Today's visits (waiting, serving or all)."""
    require_staff(request, STAFF_ROLES)
    state = request.query.get("state", "all")
    if state not in {"waiting", "serving", "all"}:
        raise ApiError(400, "bad_state", "state must be waiting, serving or all")
    return web.json_response(await _desk(request).visits(state))


async def brief(request: web.Request) -> web.Response:
    """The visit's brief for the caller's role."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    return web.json_response(await _desk(request).brief(context, visit_id))


async def claim(request: web.Request) -> web.Response:
    """Claim the customer so nobody approaches twice."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    await json_body(request, optional=True)
    return web.json_response(await _desk(request).claim(context, visit_id))


async def notes(request: web.Request) -> web.Response:
    """Add a note for colleagues."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request)
    text = req_str(body, "text", max_len=1000)
    for_role = opt_str(body, "for_role", max_len=32)
    if for_role is not None and for_role not in STAFF_ROLES:
        raise ApiError(400, "bad_for_role", "for_role must be a staff role")
    return web.json_response(
        await _desk(request).add_note(context, visit_id, text, for_role), status=201
    )


async def handoff(request: web.Request) -> web.Response:
    """Hand the customer to a colleague or a role."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request)
    to_staff = opt_str(body, "to_staff_id", max_len=64)
    to_role = opt_str(body, "to_role", max_len=32)
    if (to_staff is None) == (to_role is None):
        raise ApiError(400, "handoff_target_required", "give exactly one of to_staff_id or to_role")
    if to_role is not None and to_role not in STAFF_ROLES:
        raise ApiError(400, "bad_to_role", "to_role must be a staff role")
    note = opt_str(body, "note", max_len=1000)
    return web.json_response(
        await _desk(request).handoff(context, visit_id, to_staff, to_role, note)
    )


async def lead_outcome(request: web.Request) -> web.Response:
    """Record the outcome of a lead."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    lead_id = path_param(request, "lead_id", _LEAD_ID)
    body = await json_body(request)
    outcome = req_str(body, "outcome", max_len=32)
    if outcome not in OUTCOMES:
        raise ApiError(
            400, "bad_outcome", "outcome must be accepted, declined, follow_up or not_interested"
        )
    note = opt_str(body, "note", max_len=1000)
    return web.json_response(
        await _desk(request).lead_outcome(context, visit_id, lead_id, outcome, note), status=201
    )


async def call_next(request: web.Request) -> web.Response:
    """Call the next ticket to a counter."""
    context = require_staff(request, _QUEUE_ROLES)
    counter_id = path_param(request, "counter_id")
    await json_body(request, optional=True)
    return web.json_response(await _desk(request).call_next(context, counter_id))


def _ticket_handler(op: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        context = require_staff(request, _QUEUE_ROLES)
        ticket_id = path_param(request, "ticket_id", _TICKET_ID)
        body = await json_body(request, optional=op != "transfer")
        return web.json_response(await _desk(request).ticket_op(context, ticket_id, op, body))

    handler.__doc__ = f"{op} a ticket."
    return handler


async def dashboard(request: web.Request) -> web.Response:
    """The queue dashboard for the lobby manager."""
    require_staff(request, _DASHBOARD_ROLES)
    return web.json_response(await _desk(request).dashboard())


def add_staff_routes(app: web.Application) -> None:
    """Register the staff endpoints."""
    r = app.router
    r.add_get("/api/v1/visits", visits)
    r.add_get("/api/v1/visits/{visit_id}/brief", brief)
    r.add_post("/api/v1/visits/{visit_id}/claim", claim)
    r.add_post("/api/v1/visits/{visit_id}/notes", notes)
    r.add_post("/api/v1/visits/{visit_id}/handoff", handoff)
    r.add_post("/api/v1/visits/{visit_id}/leads/{lead_id}/outcome", lead_outcome)
    r.add_post("/api/v1/counters/{counter_id}/call-next", call_next)
    for op in ("recall", "no-show", "finish", "park", "transfer"):
        r.add_post(f"/api/v1/tickets/{{ticket_id}}/{op}", _ticket_handler(op))
    r.add_get("/api/v1/queue/dashboard", dashboard)
