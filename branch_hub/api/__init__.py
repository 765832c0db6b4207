"""The hub's HTTP layer, and the only part of the hub that speaks HTTP.

Routes read and check requests, call the domain (lobby, desks, security, app store) and map its
errors through one table (`errors.TABLE`) to a status, a reason code and a message in Chinese
and English.
"""

from __future__ import annotations

from aiohttp import web

from branch_hub.api import (
    routes_appointments,
    routes_apps,
    routes_board,
    routes_catalogue,
    routes_catalogue_files,
    routes_catalogue_views,
    routes_core,
    routes_desks,
    routes_handoff,
    routes_kiosk,
    routes_pincheck,
    routes_renewal,
    routes_reports,
    routes_security,
    routes_staff,
    routes_timeline,
)
from branch_hub.api.app import (
    HANDSHAKES,
    HUB,
    MAX_BODY,
    context_middleware,
    error_middleware,
    hide_server_version,
)
from branch_hub.api.connections import (
    CONNECTIONS,
    ConnectionLimits,
    Connections,
    connection_middleware,
)
from branch_hub.api.handshakes import HandshakeWatch
from branch_hub.api.routes import Route, register
from branch_hub.hub import Hub

__all__ = ["HUB", "ROUTES", "create_app"]

# Every route of the hub, in the order the application registers them.
ROUTES: tuple[Route, ...] = (
    *routes_core.ROUTES,
    *routes_security.ROUTES,
    *routes_pincheck.ROUTES,
    *routes_renewal.ROUTES,
    *routes_kiosk.ROUTES,
    *routes_staff.ROUTES,
    *routes_desks.ROUTES,
    *routes_timeline.ROUTES,
    *routes_board.ROUTES,
    *routes_handoff.ROUTES,
    *routes_appointments.ROUTES,
    *routes_apps.ROUTES,
    *routes_catalogue.ROUTES,
    *routes_catalogue_views.ROUTES,
    *routes_catalogue_files.ROUTES,
    *routes_reports.ROUTES,
)


def create_app(hub: Hub) -> web.Application:
    """Build the aiohttp application for a hub: every route behind the device and staff checks."""
    app = web.Application(
        middlewares=[connection_middleware, error_middleware, context_middleware],
        client_max_size=MAX_BODY,
    )
    app[HUB] = hub
    app[HANDSHAKES] = HandshakeWatch()
    app[CONNECTIONS] = Connections(ConnectionLimits.from_settings(hub.config.hub))
    hide_server_version(app)
    register(app, ROUTES)
    return app
