"""Which device kinds may call which routes, checked for every request before any handler.

Handlers still call `require()`; this table is the default-deny floor under them: a kiosk
reaches only kiosk routes, a display only the calling board, and anything not listed is for
staff devices (tablet, counter).
"""

from __future__ import annotations

from dataclasses import dataclass

from branch_hub.context import RequestContext
from branch_hub.security.devices import DeviceRegistry
from branch_hub.security.roles import DEVICE_KINDS, STAFF_DEVICE_KINDS

__all__ = [
    "ENROL_ROUTE",
    "KIND_RULES",
    "RENEW_ROUTE",
    "SESSION_RULES",
    "Refusal",
    "admit",
    "allowed_kinds",
]

ENROL_ROUTE = "/api/v1/enrol"
RENEW_ROUTE = "/api/v1/devices/renew"  # every kind renews its own certificate
_BOARD_KINDS = frozenset({"display", "tablet", "counter"})

# (route prefix, device kinds allowed). First match wins; other routes: STAFF_DEVICE_KINDS.
# Other packages add their own prefixes here (e.g. the app store's update route).
KIND_RULES: list[tuple[str, frozenset[str]]] = [
    (RENEW_ROUTE, DEVICE_KINDS),
    ("/api/v1/kiosk", frozenset({"kiosk"})),
    ("/api/v1/health", DEVICE_KINDS),
    ("/api/v1/board", _BOARD_KINDS),
    ("/api/v1/events", _BOARD_KINDS),
    ("/display", _BOARD_KINDS),
    ("/api/v1/apps", frozenset({"kiosk", "tablet", "counter"})),  # app updates per device kind
]
# (route prefix, device kinds that need a staff session there): the staff event stream
# carries arrivals, so a tablet must be logged in to open it.
SESSION_RULES: list[tuple[str, frozenset[str]]] = [("/api/v1/events", STAFF_DEVICE_KINDS)]

_REVOKED_WHY = {
    "unknown_device": "This device is not enrolled at this hub.",
    "revoked": "This device's enrolment was revoked; ask branch IT to enrol it again.",
    "replaced": "This certificate was replaced by a newer enrolment of the same device.",
}


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused before it reaches a handler."""

    status: int
    code: str
    message: str


def _under(route: str, prefix: str) -> bool:
    return route == prefix or route.startswith(prefix.rstrip("/") + "/")


def allowed_kinds(route: str) -> frozenset[str]:
    """The device kinds that may call a route (its canonical path, e.g. /api/v1/visits/{id})."""
    for prefix, kinds in KIND_RULES:
        if _under(route, prefix):
            return kinds
    return STAFF_DEVICE_KINDS


def admit(
    registry: DeviceRegistry,
    route: str,
    method: str,
    context: RequestContext,
    serial: str | None,
) -> Refusal | None:
    """Decide whether a request may reach its handler (None: yes)."""
    if route == ENROL_ROUTE and method == "POST":
        return None  # the one route a device without a certificate may call
    if context.device_id is None:
        return Refusal(
            401,
            "device_not_enrolled",
            "This request carries no client certificate from the branch CA; enrol the device first.",
        )
    why = registry.admits(context.device_id, context.device_kind, serial)
    if why is not None:
        return Refusal(403, "device_revoked", _REVOKED_WHY.get(why, "This device is refused."))
    kinds = allowed_kinds(route)
    if context.device_kind not in kinds:
        return Refusal(
            403,
            "device_kind_forbidden",
            f"A {context.device_kind} device may not call this endpoint "
            f"(allowed: {', '.join(sorted(kinds))}).",
        )
    for prefix, needs_session in SESSION_RULES:
        if _under(route, prefix) and context.device_kind in needs_session and not context.staff_id:
            return Refusal(401, "login_required", "Please log in with your staff id and PIN.")
    return None
