"""Who may call the lobby's endpoints: one small guard, so H6's `require()` replaces it in one edit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aiohttp import web

from branch_hub.context import RequestContext
from branch_hub.server import CONTEXT, ApiError, ctx

__all__ = ["STAFF_KINDS", "STAFF_ROLES", "StaffResolver", "require_kiosk", "require_staff"]

STAFF_KINDS = frozenset({"tablet", "counter"})
STAFF_ROLES = frozenset(
    {"lobby_manager", "wealth_manager", "account_manager", "teller", "branch_admin"}
)
# token -> (staff_id, role) or None; the staff-login layer (branch_hub/security) provides it.
StaffResolver = Callable[[str], tuple[str, str] | None]


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_kiosk(request: web.Request) -> str:
    """Return the calling kiosk's station id, or raise 401/403."""
    context = ctx(request)
    if context.anonymous:
        raise ApiError(
            401, "device_certificate_required", "this endpoint needs a kiosk certificate"
        )
    if context.device_kind != "kiosk":
        raise ApiError(403, "kiosk_only", "only a kiosk may call this endpoint")
    hub = request.app[CONTEXT]
    stations = {s.id for s in hub.config.stations} if hub.config else set()
    if context.device_id not in stations:
        raise ApiError(403, "unknown_station", "this kiosk is not a station of the branch")
    return str(context.device_id)


def require_staff(request: web.Request, roles: frozenset[str] | None = None) -> RequestContext:
    """Return the context of a logged-in staff member on a tablet or counter, or raise 401/403."""
    context = ctx(request)
    if context.anonymous:
        raise ApiError(
            401, "device_certificate_required", "this endpoint needs a device certificate"
        )
    if context.device_kind not in STAFF_KINDS:
        raise ApiError(403, "staff_device_only", "only a staff tablet or counter may call this")
    if context.staff_id is None:
        resolver = request.app[CONTEXT].staff_resolver
        token = _bearer(request)
        found = resolver(token) if resolver is not None and token is not None else None
        if found is None:
            raise ApiError(401, "login_required", "log in as a staff member first")
        context = replace(context, staff_id=found[0], role=found[1])
    if roles is not None and context.role not in roles:
        raise ApiError(403, "role_not_allowed", "your role may not do this")
    return context
