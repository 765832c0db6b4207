"""Who may call: `require(request, kinds=..., roles=...)`, the one check every handler makes first."""

from __future__ import annotations

from collections.abc import Collection

from aiohttp import web

from branch_hub.api.app import HUB, ctx
from branch_hub.api.errors import ApiError
from branch_hub.config import StationRole
from branch_hub.context import RequestContext
from branch_hub.vocabulary import STAFF_DEVICE_KINDS, STAFF_ROLES, DeviceKind

__all__ = ["require", "require_kiosk", "require_staff"]

_SESSION_MESSAGES = {
    "unknown": "Your session is not valid; please log in again.",
    "expired": "Your session ended after a period of inactivity; please log in again.",
    "other_device": "This session belongs to another device; please log in on this one.",
}


def require(
    request: web.Request,
    *,
    kinds: Collection[str] | None = None,
    roles: Collection[str] | None = None,
    staff: bool = False,
) -> RequestContext:
    """Return the request's context, or raise ApiError 401/403 naming what is missing.

    `kinds`: device kinds allowed (None: any enrolled device). `roles`: staff roles allowed
    (implies a staff session). `staff=True`: any logged-in staff member.
    """
    context = ctx(request)
    if context.device_id is None or context.device_kind is None:
        raise ApiError(
            401,
            "device_not_enrolled",
            "This request carries no client certificate from the branch CA; enrol the device first.",
        )
    if kinds is not None and context.device_kind not in kinds:
        raise ApiError(
            403,
            "device_kind_forbidden",
            f"A {context.device_kind} device may not call this endpoint "
            f"(allowed: {', '.join(sorted(kinds))}).",
        )
    if roles is not None or staff:
        if context.staff_id is None or context.role is None:
            if context.session_problem:
                raise ApiError(401, "session_invalid", _SESSION_MESSAGES[context.session_problem])
            raise ApiError(401, "login_required", "Please log in with your staff id and PIN.")
        if roles is not None and context.role not in roles:
            raise ApiError(
                403,
                "role_forbidden",
                f"Your role ({context.role}) may not do this "
                f"(allowed: {', '.join(sorted(roles))}).",
            )
    return context


def require_kiosk(request: web.Request) -> str:
    """Return the calling kiosk's station id, or raise 401/403."""
    context = require(request, kinds={DeviceKind.KIOSK})
    config = request.app[HUB].config
    stations = {s.id for s in config.stations if s.role is StationRole.KIOSK}  # not a desk
    if context.device_id not in stations:
        raise ApiError(403, "unknown_station", "This kiosk is not a station of the branch.")
    return str(context.device_id)


def require_staff(request: web.Request, roles: Collection[str] = STAFF_ROLES) -> RequestContext:
    """Return the context of a logged-in staff member on a tablet or counter, or raise 401/403."""
    return require(request, kinds=STAFF_DEVICE_KINDS, roles=roles)
