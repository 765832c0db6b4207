"""Staff endpoints (device kinds `tablet`/`counter`, with a staff session)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import choice, json_body, opt_str, path_param, req_str, request_id
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require_staff
from branch_hub.lobby.counters import Counters
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.vocabulary import (
    DASHBOARD_ROLES,
    NOTE_MAX_CHARS,
    QUEUE_ROLES,
    STAFF_ROLES,
    LeadOutcome,
    Role,
    TicketOperation,
)

__all__ = ["add_routes"]

_VISIT_ID = re.compile(r"^[0-9a-f]{16}$")
_TICKET_ID = re.compile(r"^[0-9]{8}-[A-Z][0-9]{3,6}$")
_LEAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _desk(request: web.Request) -> StaffDesk:
    return request.app[HUB].desk


def _counters(request: web.Request) -> Counters:
    return request.app[HUB].counters


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
    body = await json_body(request, optional=True)
    return web.json_response(await _desk(request).claim(context, visit_id, request_id(body)))


async def notes(request: web.Request) -> web.Response:
    """Add a note for colleagues."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request)
    text = req_str(body, "text", max_len=NOTE_MAX_CHARS)
    for_role = choice(opt_str(body, "for_role", max_len=32), Role, "for_role")
    desk = _desk(request)
    answer = await desk.add_note(context, visit_id, text, for_role, request_id(body))
    return web.json_response(answer, status=201)


async def handoff(request: web.Request) -> web.Response:
    """Hand the customer to a colleague or a role."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request)
    to_staff = opt_str(body, "to_staff_id", max_len=64)
    to_role = opt_str(body, "to_role", max_len=32)
    if (to_staff is None) == (to_role is None):
        raise ApiError(400, "handoff_target_required", "give exactly one of to_staff_id or to_role")
    role = choice(to_role, Role, "to_role")
    note = opt_str(body, "note", max_len=NOTE_MAX_CHARS)
    desk = _desk(request)
    answer = await desk.handoff(context, visit_id, to_staff, role, note, request_id(body))
    return web.json_response(answer)


async def lead_outcome(request: web.Request) -> web.Response:
    """Record the outcome of a lead."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    lead_id = path_param(request, "lead_id", _LEAD_ID)
    body = await json_body(request)
    outcome = choice(req_str(body, "outcome", max_len=32), LeadOutcome, "outcome")
    assert outcome is not None  # noqa: S101 (req_str never gives None)
    note = opt_str(body, "note", max_len=NOTE_MAX_CHARS)
    desk = _desk(request)
    rid = request_id(body)
    answer = await desk.lead_outcome(context, visit_id, lead_id, outcome, note, rid)
    return web.json_response(answer, status=201)


async def call_next(request: web.Request) -> web.Response:
    """Call the next ticket to a counter."""
    context = require_staff(request, QUEUE_ROLES)
    counter_id = path_param(request, "counter_id")
    body = await json_body(request, optional=True)
    answer = await _counters(request).call_next(context, counter_id, request_id(body))
    return web.json_response(answer)


def _ticket_handler(op: TicketOperation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        context = require_staff(request, QUEUE_ROLES)
        ticket_id = path_param(request, "ticket_id", _TICKET_ID)
        transfer = op is TicketOperation.TRANSFER
        body = await json_body(request, optional=not transfer)
        service = opt_str(body, "service", max_len=32) if transfer else None
        counter = opt_str(body, "counter", max_len=32) if transfer else None
        answer = await _counters(request).ticket_op(
            context, ticket_id, op, service=service, counter=counter, request_id=request_id(body)
        )
        return web.json_response(answer)

    handler.__doc__ = f"{op.value} a ticket."
    return handler


async def dashboard(request: web.Request) -> web.Response:
    """The queue dashboard for the lobby manager."""
    require_staff(request, DASHBOARD_ROLES)
    return web.json_response(await _counters(request).dashboard())


def add_routes(app: web.Application) -> None:
    """Register the staff endpoints."""
    r = app.router
    r.add_get("/api/v1/visits", visits)
    r.add_get("/api/v1/visits/{visit_id}/brief", brief)
    r.add_post("/api/v1/visits/{visit_id}/claim", claim)
    r.add_post("/api/v1/visits/{visit_id}/notes", notes)
    r.add_post("/api/v1/visits/{visit_id}/handoff", handoff)
    r.add_post("/api/v1/visits/{visit_id}/leads/{lead_id}/outcome", lead_outcome)
    r.add_post("/api/v1/counters/{counter_id}/call-next", call_next)
    for op in TicketOperation:
        r.add_post(f"/api/v1/tickets/{{ticket_id}}/{op.value}", _ticket_handler(op))
    r.add_get("/api/v1/queue/dashboard", dashboard)
