"""The lobby board for the lobby and branch managers (a staff session of those roles)."""

from __future__ import annotations

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Reply, Route, staff_route
from branch_hub.client.models import LobbyBoard
from branch_hub.vocabulary import DASHBOARD_ROLES

__all__ = ["ROUTES"]


async def lobby_board(request: web.Request) -> web.Response:
    """The lobby board: waits against the tiers' targets, unclaimed customers, counters, links."""
    require_staff(request, DASHBOARD_ROLES)
    view = await request.app[HUB].board.board()
    return web.json_response(view.to_wire())


ROUTES: tuple[Route, ...] = (
    staff_route(
        "GET",
        "/api/v1/lobby/board",
        lobby_board,
        "lobbyBoard",
        "The lobby board: waiting per service and tier, each tier's longest wait against its "
        "target, unclaimed priority customers, counters open and idle, station device alerts, "
        "the customer cache's age, the HQ link and the lobby alerts that are up.",
        {200: Reply("The board (tickets, tiers, counters and stations; no names).", LobbyBoard)},
        roles=DASHBOARD_ROLES,
        refusals=frozenset({503}),
    ),
)
