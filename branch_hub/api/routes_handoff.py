"""Hand-off to a person: the staff directory, hand-off and accept, managers' arrival alerts."""

from __future__ import annotations

import re

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import choice, json_body, opt_str, path_param, request_id
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Body, Param, Reply, staff_route
from branch_hub.client.models import (
    AlertDismissed,
    CommandRequest,
    HandoffAccepted,
    HandoffRequest,
    HandoffResult,
    ManagerAlerts,
    StaffDirectory,
)
from branch_hub.lobby.handoffdesk import HandoffDesk
from branch_hub.vocabulary import (
    NOTE_MAX_CHARS,
    STAFF_ROLES,
    CustomerLocation,
    Role,
    WriteClass,
)

__all__ = ["ROUTES"]

_VISIT_ID = re.compile(r"^[0-9a-f]{16}$")


def _desk(request: web.Request) -> HandoffDesk:
    return request.app[HUB].handoffs


async def staff_directory(request: web.Request) -> web.Response:
    """Colleagues by name, role and whether they are on duty now."""
    require_staff(request, STAFF_ROLES)
    return web.json_response((await _desk(request).directory()).to_wire())


async def handoff(request: web.Request) -> web.Response:
    """Hand the customer to a colleague or a role, saying where they were taken."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request)
    to_staff = opt_str(body, "to_staff_id", max_len=64)
    to_role = opt_str(body, "to_role", max_len=32)
    if (to_staff is None) == (to_role is None):
        raise ApiError(400, "handoff_target_required", "give exactly one of to_staff_id or to_role")
    role = choice(to_role, Role, "to_role")
    location = choice(opt_str(body, "location", max_len=32), CustomerLocation, "location")
    note = opt_str(body, "note", max_len=NOTE_MAX_CHARS)
    rid = request_id(body)
    answer = await _desk(request).handoff(context, visit_id, to_staff, role, location, note, rid)
    return web.json_response(answer.to_wire())


async def accept(request: web.Request) -> web.Response:
    """The receiver accepts a hand-off."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request, optional=True)
    answer = await _desk(request).accept(context, visit_id, request_id(body))
    return web.json_response(answer.to_wire())


async def my_alerts(request: web.Request) -> web.Response:
    """My own customers who arrived today and are still in the branch."""
    context = require_staff(request, STAFF_ROLES)
    return web.json_response((await _desk(request).alerts(context)).to_wire())


async def dismiss(request: web.Request) -> web.Response:
    """Dismiss one of my arrival alerts."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request, optional=True)
    answer = await _desk(request).dismiss(context, visit_id, request_id(body))
    return web.json_response(answer.to_wire())


_VISIT = Param.matching("visit_id", _VISIT_ID.pattern)
_COMMAND = Body(CommandRequest, required=False)
_REFUSALS = frozenset({400, 404, 409, 503})
_HANDOFF_EXAMPLE = {"to_staff_id": "w1", "location": "vip_room", "note": "想咨询理财"}

ROUTES = (
    staff_route(
        "GET",
        "/api/v1/staff",
        staff_directory,
        "staffDirectory",
        "The branch's colleagues by name and role, on duty (logged in now) first; no PINs.",
        {200: Reply("The colleagues.", StaffDirectory)},
        refusals=frozenset({503}),
    ),
    staff_route(
        "POST",
        "/api/v1/visits/{visit_id}/handoff",
        handoff,
        "handoff",
        "Hand the customer to a colleague or a role (exactly one of to_staff_id, to_role), "
        "optionally saying where they were taken.",
        {200: Reply("Handed off.", HandoffResult)},
        params=(_VISIT,),
        body=Body(HandoffRequest, example=_HANDOFF_EXAMPLE),
        refusals=_REFUSALS,
        limit=WriteClass.COMMAND,
    ),
    staff_route(
        "POST",
        "/api/v1/visits/{visit_id}/handoff/accept",
        accept,
        "acceptHandoff",
        "Accept a hand-off: only its named receiver, or someone of the role it went to.",
        {200: Reply("Accepted; the giver is told.", HandoffAccepted)},
        params=(_VISIT,),
        body=_COMMAND,
        refusals=_REFUSALS | {403},
        limit=WriteClass.COMMAND,
    ),
    staff_route(
        "GET",
        "/api/v1/staff/me/alerts",
        my_alerts,
        "managerAlerts",
        "My own customers (I am their relationship manager) who arrived today and are here.",
        {200: Reply("The alerts, oldest first.", ManagerAlerts)},
        refusals=frozenset({503}),
    ),
    staff_route(
        "POST",
        "/api/v1/staff/me/alerts/{visit_id}/dismiss",
        dismiss,
        "dismissManagerAlert",
        "Dismiss the alert of one of my customers' arrival.",
        {200: Reply("Dismissed.", AlertDismissed)},
        params=(_VISIT,),
        body=_COMMAND,
        refusals=_REFUSALS,
        limit=WriteClass.COMMAND,
    ),
)
