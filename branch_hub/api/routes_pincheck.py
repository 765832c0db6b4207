"""Check the signed-in staff member's PIN again, e.g. to leave the tablet's presentation mode.

A wrong PIN counts exactly like a failed login (the account's lockout and the device's back-off),
so the check cannot be used to guess PINs faster than the login screen allows.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import json_body
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require
from branch_hub.api.routes import Body, Reply, staff_route
from branch_hub.api.routes_security import _field, _record_failed_login, _refuse_while_waiting
from branch_hub.client.models import PinCheckRequest
from branch_hub.security.errors import AccountLocked, LoginFailed
from branch_hub.security.passwords import MAX_SECRET_LEN
from branch_hub.vocabulary import STAFF_DEVICE_KINDS, STAFF_ROLES, WriteClass

__all__ = ["ROUTES"]


async def pin_check(request: web.Request) -> web.Response:
    """204 when the PIN is the signed-in staff member's; 403 wrong_pin (counted) otherwise."""
    context = require(request, kinds=STAFF_DEVICE_KINDS, roles=STAFF_ROLES)
    hub = request.app[HUB]
    security = hub.security
    pin = _field(await json_body(request), "pin", MAX_SECRET_LEN)
    staff_id, device_id = context.staff_id or "", context.device_id or ""
    throttle = security.login_throttle
    _refuse_while_waiting(throttle, device_id, "Too many wrong PINs on this device")
    loop = asyncio.get_running_loop()
    try:
        await security.hashing.run(security.staff.login, staff_id, pin)
    except LoginFailed as exc:
        throttle.failed(device_id)
        await loop.run_in_executor(
            None, _record_failed_login, security, context, staff_id, type(exc).__name__
        )
        await throttle.sound(hub.alerts, security.audit)
        if isinstance(exc, AccountLocked):
            raise
        raise ApiError(403, "wrong_pin", "This is not the signed-in staff member's PIN.") from None
    await throttle.sound(hub.alerts, security.audit)
    return web.Response(status=204)


ROUTES = (
    staff_route(
        "POST",
        "/api/v1/session/pin-check",
        pin_check,
        "pinCheck",
        "Check the signed-in staff member's PIN again (to leave presentation mode).",
        {204: Reply("The PIN is the signed-in staff member's.")},
        body=Body(PinCheckRequest, example={"pin": "246810"}),
        refusals=frozenset({403, 423, 429}),
        limit=WriteClass.OWN_LOCKOUT,
        description="A wrong PIN answers 403 wrong_pin and counts as a failed login: five "
        "lock the account (423 account_locked, and the session's later checks too), and the "
        "device's back-off after 3 failures applies (429 with Retry-After).",
    ),
)
