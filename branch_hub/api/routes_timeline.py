"""A visit's timeline for staff: colleagues' claims, notes, hand-offs and outcomes, by name and role."""

from __future__ import annotations

import re

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import path_param
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Param, Reply, staff_route
from branch_hub.client.models import VisitTimeline
from branch_hub.vocabulary import STAFF_ROLES

__all__ = ["ROUTES"]

_VISIT_ID = re.compile(r"^[0-9a-f]{16}$")


async def timeline(request: web.Request) -> web.Response:
    """This visit and the customer's last visits here, for the caller's role."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    answer = await request.app[HUB].timeline.of_visit(context, visit_id)
    return web.json_response(answer.to_wire())


ROUTES = (
    staff_route(
        "GET",
        "/api/v1/visits/{visit_id}/timeline",
        timeline,
        "timeline",
        "Colleagues in one timeline: claims, notes, hand-offs, lead outcomes and queue calls of "
        "this visit and of the customer's last visits at this branch, by name and role "
        "(notes as the caller's role may read them; audited).",
        {200: Reply("This visit first, then earlier visits, the latest first.", VisitTimeline)},
        params=(Param.matching("visit_id", _VISIT_ID.pattern),),
        refusals=frozenset({404, 503}),
    ),
)
