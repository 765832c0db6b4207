"""Certificate renewal: an enrolled device of any kind trades its current certificate for a new one."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl

from aiohttp import web
from cryptography.hazmat.primitives import serialization

from branch_hub.api.app import HUB
from branch_hub.api.bodies import json_body
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require
from branch_hub.api.routes import ALL_KINDS, Body, Reply, Route
from branch_hub.client.enrolment import Enrolment
from branch_hub.client.renewal import RenewRequest
from branch_hub.context import RequestContext
from branch_hub.pki import ca_fingerprint
from branch_hub.security.devices import serial_hex
from branch_hub.security.enrolment import MAX_CSR_BYTES
from branch_hub.security.errors import EnrolmentError
from branch_hub.security.hub import HubSecurity
from branch_hub.security.policy import RENEW_ROUTE
from branch_hub.security.renewal import Presented, renew
from branch_hub.vocabulary import WriteClass

__all__ = ["ROUTES"]


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(text), dt.UTC)


def _presented(request: web.Request, context: RequestContext) -> Presented:
    """The verified certificate this request came with (the admission checks already passed)."""
    peercert = request.transport.get_extra_info("peercert") if request.transport else None
    if not peercert or context.device_id is None or context.device_kind is None:
        raise ApiError(401, "device_not_enrolled", "This request carries no client certificate.")
    return Presented(
        context.device_id,
        context.device_kind,
        str(peercert["serialNumber"]),
        _when(str(peercert["notBefore"])),
        _when(str(peercert["notAfter"])),
    )


def _renew_request(body: dict[str, object]) -> tuple[str, bool]:
    csr, force = body.get("csr"), body.get("force", False)
    if not isinstance(csr, str) or not csr or len(csr) > MAX_CSR_BYTES:
        raise ApiError(400, "bad_csr", "'csr' must be a PEM certificate request.")
    if not isinstance(force, bool):
        raise ApiError(400, "bad_force", "'force' must be true or false.")
    return csr, force


async def renew_device(request: web.Request) -> web.Response:
    """Issue the calling device a new certificate for the key in its CSR (same id and kind)."""
    context = require(request)
    security: HubSecurity = request.app[HUB].security
    csr, force = _renew_request(await json_body(request))
    if security.ca is None:
        raise ApiError(503, "enrolment_unavailable", "This hub cannot issue certificates.")
    ca, presented = security.ca, _presented(request, context)
    loop = asyncio.get_running_loop()
    try:
        issued = await loop.run_in_executor(
            None, renew, security.devices, ca, security.renewals, presented, csr, force
        )
    except EnrolmentError as exc:
        why = str(exc)
        raise ApiError(400, "renewal_refused", f"{why[:1].upper()}{why[1:]}.") from None
    detail: dict[str, str | bool] = {
        "kind": issued.kind,
        "forced": force,
        "serial": serial_hex(issued.cert).lower(),
        "replaced_serial": presented.serial.lower(),
        "not_after": issued.cert.not_valid_after_utc.isoformat(),
    }
    await loop.run_in_executor(
        None,
        lambda: security.audit.record(
            "device_renewed", ctx=context, subject=issued.device_id, detail=detail
        ),
    )
    answer = Enrolment(
        issued.device_id,
        issued.kind,
        issued.cert.public_bytes(serialization.Encoding.PEM).decode(),
        ca.cert_pem().decode(),
        ca_fingerprint(ca.cert),
    )
    return web.json_response(answer.to_wire())


ROUTES = (
    Route(
        "POST",
        RENEW_ROUTE,
        renew_device,
        "renew_device",
        "Renew this device's client certificate for a new key (same device id and kind).",
        ALL_KINDS,
        {200: Reply("The device's new certificate and the branch CA.", Enrolment)},
        body=Body(RenewRequest),
        refusals=frozenset({409, 429, 503}),
        limit=WriteClass.SESSION,  # essential under the disk reserve; once an hour inside
        description="Authenticated by the device's current, valid client certificate. Allowed "
        "in the certificate's last 30 days (or for a certificate issued for longer than the "
        "365-day device profile), or earlier with `force`; once per hour per device (429). The "
        "certificate presented stays admitted until the device first uses the new one. 409 "
        "`renewal_not_due` before the window; 400 for a CSR that is not an EC P-256 request.",
    ),
)
