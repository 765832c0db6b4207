"""Security endpoints: login, logout, enrol, and the device registry for branch admins."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization

from branch_common.i18n import N_
from branch_hub.api.app import HUB
from branch_hub.api.bodies import json_body
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require
from branch_hub.api.routes import Body, Param, Reply, Route, staff_route
from branch_hub.api.wire_schemas import DEVICE_LIST, REVOKED
from branch_hub.client.enrolment import Enrolment, EnrolRequest
from branch_hub.client.models import Ended, LoginRequest, LoginResult
from branch_hub.context import RequestContext
from branch_hub.messages import zh
from branch_hub.pki import CertifiedKey, ca_fingerprint
from branch_hub.security.auth import bearer_token
from branch_hub.security.enrolment import MAX_CSR_BYTES, Issued, enrol
from branch_hub.security.errors import EnrolmentError, LoginFailed, StaffError
from branch_hub.security.hub import HubSecurity
from branch_hub.security.lockouts import Throttle, retry_seconds, source_key
from branch_hub.security.passwords import MAX_SECRET_LEN
from branch_hub.security.policy import ENROL_ROUTE
from branch_hub.vocabulary import STAFF_DEVICE_KINDS, Role, WriteClass

__all__ = ["ROUTES"]


def _security(request: web.Request) -> HubSecurity:
    return request.app[HUB].security


def _field(body: dict[str, Any], name: str, max_len: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ApiError(400, f"bad_{name}", f"'{name}' must be a non-empty string.")
    return value


async def login(request: web.Request) -> web.Response:
    """Check staff id + PIN on an enrolled tablet/counter and start a device-bound session."""
    context = require(request, kinds=STAFF_DEVICE_KINDS)
    hub = request.app[HUB]
    security = hub.security
    body = await json_body(request)
    staff_id = _field(body, "staff_id", 64)
    pin = _field(body, "pin", MAX_SECRET_LEN)
    device_id = context.device_id or ""  # require() refused requests without one
    # Backoff per device across accounts: one wrong PIN for each of many staff ids (spraying)
    # never trips a single account's lockout. The branch-wide ceiling only slows devices that
    # failed: a tablet with no failures still logs in during an attack from others.
    throttle = security.login_throttle
    _refuse_while_waiting(throttle, device_id, "Too many failed logins on this device")
    loop = asyncio.get_running_loop()
    try:
        # scrypt takes ~0.1 s and 32 MiB: on its own small pool, so neither the loop nor the
        # shared executor (admission, ticket and event writes) waits behind a login burst.
        account = await security.hashing.run(security.staff.login, staff_id, pin)
    except LoginFailed as exc:
        throttle.failed(device_id)
        await loop.run_in_executor(
            None, _record_failed_login, security, context, staff_id, type(exc).__name__
        )
        await throttle.sound(hub.alerts, security.audit)
        # Unknown, locked and disabled ids answer as a wrong PIN does (only the audit log
        # tells them apart), so the answer never confirms that a staff id exists.
        raise ApiError(401, "login_failed", "Staff id or PIN is wrong.") from None
    token = security.sessions.create(account.staff_id, account.role, account.name, device_id)
    await loop.run_in_executor(
        None, lambda: security.audit.record("login", ctx=context, staff_id=account.staff_id)
    )
    await throttle.sound(hub.alerts, security.audit)
    return web.json_response(
        {
            "token": token,
            "staff_id": account.staff_id,
            "role": account.role,
            "name": account.name,
            "expires_in_s": int(security.sessions.idle_timeout_s),
        }
    )


def _refuse_while_waiting(throttle: Throttle, source: str, what: str) -> None:
    """429 with `Retry-After` while this source's backoff runs."""
    wait = throttle.retry_after(source)
    if wait > 0:
        seconds = retry_seconds(wait)
        text = N_("{what}; try again in {seconds} seconds.")
        raise ApiError(
            429,
            "too_many_attempts",
            text.format(what=what, seconds=seconds),
            zh(text).format(what=what, seconds=seconds),
            headers={"Retry-After": str(seconds)},
        )


def _record_failed_login(
    security: HubSecurity, context: RequestContext, staff_id: str, reason: str
) -> None:
    """Audit a refused login, naming the staff id only when it exists (reads the staff file)."""
    try:
        security.staff.get(staff_id)
        known = True
    except StaffError:
        known = False
    security.audit.record(
        "login_failed",
        ctx=context,
        staff_id=staff_id if known else None,
        detail={"reason": reason, "known_id": known},
    )


async def logout(request: web.Request) -> web.Response:
    """End the caller's staff session."""
    context = require(request, kinds=STAFF_DEVICE_KINDS)
    security = _security(request)
    token = bearer_token(request.headers.get("Authorization"))
    ended = security.sessions.end(token) if token else None
    if ended is not None:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: security.audit.record("logout", ctx=context, staff_id=ended.staff_id)
        )
    return web.json_response({"ended": ended is not None})


async def enrol_device(request: web.Request) -> web.Response:
    """Exchange a one-time code and a CSR for the device's client certificate (no cert needed)."""
    hub = request.app[HUB]
    security = hub.security
    source = request.remote or "unknown"
    # The backoff is checked before the code is looked at, so a slowed address learns nothing
    # about its guesses; an address with no failures is not slowed even over the ceiling.
    throttle = security.enrol_throttle
    _refuse_while_waiting(throttle, source_key(source), "Too many failed enrolment attempts")
    body = await json_body(request)  # bad input is the caller's error (4xx) first
    code = _field(body, "code", 64)
    csr = _field(body, "csr", MAX_CSR_BYTES)
    if security.ca is None:
        raise ApiError(503, "enrolment_unavailable", "This hub cannot issue certificates.")
    ca = security.ca
    loop = asyncio.get_running_loop()
    try:
        issued = await loop.run_in_executor(
            None, enrol, security.codes, security.devices, ca, code, csr
        )
    except EnrolmentError as exc:
        throttle.failed(source_key(source))
        reason = str(exc)
        await loop.run_in_executor(
            None,
            lambda: security.audit.record(
                "enrolment_failed", detail={"source": source, "reason": reason}
            ),
        )
        await throttle.sound(hub.alerts, security.audit)
        raise ApiError(400, "enrolment_refused", f"{str(exc).capitalize()}.") from None
    # A re-enrolled device's older connections belong to its replaced certificate.
    security.cut_off(issued.device_id)
    await loop.run_in_executor(
        None,
        lambda: security.audit.record(
            "enrolment",
            device_id=issued.device_id,
            subject=issued.device_id,
            detail={"kind": issued.kind, "source": source},
        ),
    )
    await throttle.sound(hub.alerts, security.audit)
    return _enrolled(issued, ca)


def _enrolled(issued: Issued, ca: CertifiedKey) -> web.Response:
    return web.json_response(
        {
            "device_id": issued.device_id,
            "kind": issued.kind,
            "certificate": issued.cert.public_bytes(serialization.Encoding.PEM).decode(),
            "ca_certificate": ca.cert_pem().decode(),
            "ca_fingerprint": ca_fingerprint(ca.cert),
        },
        status=201,
    )


async def list_devices(request: web.Request) -> web.Response:
    """The device registry, for a branch administrator."""
    require(request, kinds=STAFF_DEVICE_KINDS, roles={Role.BRANCH_ADMIN})
    security = _security(request)
    devices = [
        {
            "device_id": d.device_id,
            "kind": d.kind,
            "active": d.active,
            "enrolled_at": d.enrolled_at,
            "cert_not_after": d.not_after,
        }
        for d in await asyncio.get_running_loop().run_in_executor(None, security.devices.list)
    ]
    return web.json_response({"devices": devices})


async def revoke_device(request: web.Request) -> web.Response:
    """Revoke a device at once (its open connections are closed), for a branch administrator."""
    context = require(request, kinds=STAFF_DEVICE_KINDS, roles={Role.BRANCH_ADMIN})
    security = _security(request)
    device_id = request.match_info["device_id"]
    if device_id == context.device_id:
        raise ApiError(400, "revoke_self", "Revoke this device from another device or the CLI.")
    try:
        device = await security.revoke(device_id, by_staff=context.staff_id)
    except EnrolmentError:
        raise ApiError(404, "no_such_device", "No device with this id is enrolled.") from None
    return web.json_response({"device_id": device.device_id, "active": device.active})


_ADMIN = frozenset({Role.BRANCH_ADMIN})

ROUTES = (
    Route(
        "POST",
        "/api/v1/login",
        login,
        "login",
        "Start a staff session on this tablet or counter.",
        STAFF_DEVICE_KINDS,
        {200: Reply("Logged in.", LoginResult)},
        body=Body(LoginRequest, example={"staff_id": "S-LOBBY", "pin": "246810"}),
        refusals=frozenset({429}),
        limit=WriteClass.OWN_LOCKOUT,
        description="Five wrong PINs lock the account for a while; an unknown, locked or "
        "disabled staff id answers exactly as a wrong PIN does (401). After 3 failed logins on "
        "one device, across staff ids, each further attempt must wait 1, 2, 4 ... seconds "
        "(429 with Retry-After); while the branch as a whole is over its ceiling, a device "
        "waits after its first failure, and a device without failures is never slowed.",
    ),
    Route(
        "POST",
        "/api/v1/logout",
        logout,
        "logout",
        "End the caller's staff session.",
        STAFF_DEVICE_KINDS,
        {200: Reply("Whether a session ended.", Ended)},
        limit=WriteClass.SESSION,
    ),
    Route(
        "POST",
        ENROL_ROUTE,
        enrol_device,
        "enrol",
        "Exchange a one-time enrolment code and a CSR for the device's client certificate.",
        None,
        {201: Reply("The device's certificate and the branch CA.", Enrolment)},
        body=Body(EnrolRequest),
        refusals=frozenset({429, 503}),
        limit=WriteClass.OWN_LOCKOUT,
        description="The only route reachable without a client certificate. After 5 failures "
        "from one address each further attempt must wait 1, 2, 4 ... seconds (429 with "
        "Retry-After, whatever the code); while the branch is over its ceiling an address "
        "waits after its first failure, and an address without failures is never slowed. The "
        "code is single use and expires after 10 minutes. 503 when this hub holds no CA key to "
        "issue certificates with.",
    ),
    staff_route(
        "GET",
        "/api/v1/devices",
        list_devices,
        "devices",
        "Enrolled devices (branch admin).",
        {200: Reply("Every enrolled device.", DEVICE_LIST)},
        roles=_ADMIN,
    ),
    staff_route(
        "POST",
        "/api/v1/devices/{device_id}/revoke",
        revoke_device,
        "revoke_device",
        "Revoke a device at once (branch admin); its open connections are closed.",
        {200: Reply("The device and whether it is still active.", REVOKED)},
        roles=_ADMIN,
        params=(Param("device_id", {"type": "string", "maxLength": 64}),),
        refusals=frozenset({400, 404}),
        limit=WriteClass.ADMIN,
    ),
)
