"""Staff record the catalogue products they read, present to a customer or compare.

Unlike the catalogue search, a view names the staff member and maybe the visit, so it needs a
staff session; it is a command like the others (request id replay, one transaction with its
record for HQ and its audit entry).
"""

from __future__ import annotations

import re

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import choice, json_body, opt_str, req_str, request_id
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Body, Reply, Route, staff_route
from branch_hub.client.models import ProductViewRecorded, ProductViewRequest
from branch_hub.vocabulary import STAFF_ROLES, ProductViewMode, WriteClass

__all__ = ["ROUTES"]

_PRODUCT_CODE = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,18}$")
_VISIT_ID = re.compile(r"^[0-9a-f]{16}$")


async def record_view(request: web.Request) -> web.Response:
    """Record one view of a catalogue product (for a visit's customer, or none)."""
    context = require_staff(request, STAFF_ROLES)
    body = await json_body(request)
    code = req_str(body, "product_code", max_len=20)
    if not _PRODUCT_CODE.fullmatch(code):
        raise ApiError(400, "bad_product_code", "'product_code' must be a catalogue product code")
    mode = choice(req_str(body, "mode", max_len=16), ProductViewMode, "mode")
    assert mode is not None  # noqa: S101 (req_str never gives None)
    visit_id = opt_str(body, "visit_id", max_len=64)
    if visit_id is not None and not _VISIT_ID.fullmatch(visit_id):
        raise ApiError(404, "unknown_visit", "no such visit")  # no such visit can exist
    views = request.app[HUB].views
    answer = await views.record(context, code, mode, visit_id, request_id(body))
    return web.json_response(answer.to_wire(), status=201)


ROUTES: tuple[Route, ...] = (
    staff_route(
        "POST",
        "/api/v1/catalogue/views",
        record_view,
        "recordProductView",
        "Record that the signed-in staff member read (`viewed`), showed a customer (`presented`) "
        "or compared (`compared`) a catalogue product, for a visit or none; answers whether it "
        "suits the visit's customer today (null without a visit or for a walk-in). Sent to HQ "
        "and audited.",
        {201: Reply("Recorded (a retry with the same request id gets the first answer).",
                    ProductViewRecorded)},
        body=Body(
            ProductViewRequest,
            example={"product_code": "WM2026A0001", "mode": "presented", "visit_id": None},
        ),
        refusals=frozenset({400, 404, 409, 503}),
        limit=WriteClass.COMMAND,
    ),
)  # fmt: skip
