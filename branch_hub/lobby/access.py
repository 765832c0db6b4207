"""Who may call the lobby's endpoints: thin wrappers over the security layer's `require()`."""

from __future__ import annotations

from aiohttp import web

from branch_hub.context import RequestContext
from branch_hub.security.guard import require
from branch_hub.server import CONTEXT, ApiError

__all__ = ["STAFF_KINDS", "STAFF_ROLES", "require_kiosk", "require_staff"]

STAFF_KINDS = frozenset({"tablet", "counter"})
STAFF_ROLES = frozenset(
    {"lobby_manager", "wealth_manager", "account_manager", "teller", "branch_admin"}
)


def require_kiosk(request: web.Request) -> str:
    """Return the calling kiosk's station id, or raise 401/403."""
    context = require(request, kinds={"kiosk"})
    hub = request.app[CONTEXT]
    stations = {s.id for s in hub.config.stations} if hub.config else set()
    if context.device_id not in stations:
        raise ApiError(403, "unknown_station", "This kiosk is not a station of the branch.")
    return str(context.device_id)


def require_staff(request: web.Request, roles: frozenset[str] = STAFF_ROLES) -> RequestContext:
    """Return the context of a logged-in staff member on a tablet or counter, or raise 401/403."""
    return require(request, kinds=STAFF_KINDS, roles=roles)
