"""The staff desks whose readers identify a waiting walk-in (`by: desk` on /tickets/{id}/identify)."""

from __future__ import annotations

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Reply, staff_route
from branch_hub.client.models import DeskList
from branch_hub.lobby.desk_reads import desks_of
from branch_hub.vocabulary import QUEUE_ROLES

__all__ = ["ROUTES"]


async def desks(request: web.Request) -> web.Response:
    """The branch's desks and their readers (read only; nothing about any read)."""
    require_staff(request, QUEUE_ROLES)
    return web.json_response(desks_of(request.app[HUB].config).to_wire())


ROUTES = (
    staff_route(
        "GET",
        "/api/v1/desks",
        desks,
        "desks",
        'The staff desks (`[[stations]]` with `role = "desk"`) and their readers: '
        "`id_card`, `chip_card`, `stripe`; name one as `station` to identify a walk-in's "
        "ticket with `by: desk`.",
        {200: Reply("The desks in configuration order (empty: identify by typing).", DeskList)},
        roles=QUEUE_ROLES,
        refusals=frozenset(),
    ),
)
