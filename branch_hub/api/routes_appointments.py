"""Same-day appointments booked on the tablet, and the day's list (no customer on the wire)."""

from __future__ import annotations

import re
from datetime import date

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import choice, json_body, opt_str, req_str, request_id
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Body, Param, Reply, staff_route
from branch_hub.client import WireError, new_request_id
from branch_hub.client.models import AppointmentItem, AppointmentList, AppointmentRequest
from branch_hub.vocabulary import Role, WriteClass

__all__ = ["ROUTES"]

BOOKERS = frozenset({Role.LOBBY_MANAGER, Role.WEALTH_MANAGER, Role.ACCOUNT_MANAGER})
READERS = BOOKERS | {Role.BRANCH_ADMIN}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


async def book(request: web.Request) -> web.Response:
    """Book a same-day appointment for the customer of one of today's visits."""
    context = require_staff(request, BOOKERS)
    body = await json_body(request)
    try:
        wanted = AppointmentRequest(
            req_str(body, "visit_id", max_len=16),
            req_str(body, "service", max_len=48),
            req_str(body, "window_start", max_len=5),
            req_str(body, "window_end", max_len=5),
            choice(opt_str(body, "advisor_role", max_len=32), Role, "advisor_role"),
            request_id(body) or new_request_id(),
        )
    except WireError as exc:
        raise ApiError(400, "bad_appointment", f"the appointment is not valid: {exc}") from None
    answer = await request.app[HUB].appointments.book(context, wanted)
    return web.json_response(answer.to_wire())


def _is_date(text: str) -> bool:
    """YYYY-MM-DD and a day of the calendar."""
    try:
        return bool(_DATE.fullmatch(text)) and date.fromisoformat(text) is not None
    except ValueError:
        return False


async def listing(request: web.Request) -> web.Response:
    """The day's appointments (default today), by time."""
    context = require_staff(request, READERS)
    day = request.query.get("date")
    if day is not None and not _is_date(day):
        raise ApiError(400, "bad_appointment_date", "'date' must be a date YYYY-MM-DD")
    answer = await request.app[HUB].appointments.listing(context, day)
    return web.json_response(answer.to_wire())


_EXAMPLE = {
    "visit_id": "0123456789abcdef",
    "service": "wealth",
    "window_start": "15:30",
    "window_end": "16:00",
    "advisor_role": "wealth_manager",
}

ROUTES = (
    staff_route(
        "POST",
        "/api/v1/appointments",
        book,
        "bookAppointment",
        "Book a same-day appointment for the customer of one of today's visits (the tablet names "
        "the visit, never a customer id); without `advisor_role` it is for the caller. Refused: "
        "a walk-in's visit, a window that does not end after it starts or has ended, one outside "
        "today's opening hours, an overlap with the customer's other appointments today. The "
        "customer checks in at the kiosk.",
        {
            200: Reply(
                "Booked (or, for a repeated request id, the booking it made).", AppointmentItem
            )
        },
        roles=BOOKERS,
        body=Body(AppointmentRequest, example=_EXAMPLE),
        refusals=frozenset({400, 404, 409}),
        limit=WriteClass.COMMAND,
    ),
    staff_route(
        "GET",
        "/api/v1/appointments",
        listing,
        "appointments",
        "The day's appointments (`date`, default today): HQ's bookings, learned from the customer "
        "cache, and the branch's own, by time, with status and ticket number; no customer names "
        "or ids; and the day's opening hours (`opens`, `closes`; null when the branch is closed), "
        "which bound the windows a booking may take.",
        {200: Reply("The day's appointments.", AppointmentList)},
        roles=READERS,
        params=(Param("date", {"type": "string", "format": "date"}, where="query"),),
        refusals=frozenset({400}),
    ),
)
