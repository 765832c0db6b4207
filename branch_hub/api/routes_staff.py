"""Staff endpoints (device kinds `tablet`/`counter`, with a staff session)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from branch_common.i18n import N_
from branch_hub.api.app import HUB
from branch_hub.api.bodies import (
    PATH_SAFE,
    choice,
    json_body,
    opt_str,
    path_param,
    req_str,
    request_id,
)
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Body, Param, Reply, Route, staff_route
from branch_hub.client._identify_models import (
    IDENTIFY_AT_DESK,
    IDENTIFY_BY,
    IDENTIFY_VALUE_MAX_CHARS,
    STATION_MAX_CHARS,
)
from branch_hub.client.models import (
    Brief,
    ClaimResult,
    CommandRequest,
    Dashboard,
    IdentifyRequest,
    LeadOutcomeRequest,
    NoteRequest,
    NoteResult,
    OutcomeResult,
    QueueTargets,
    ResumeRequest,
    TicketResult,
    TransferRequest,
    VisitList,
)
from branch_hub.lobby.counters import Counters
from branch_hub.lobby.identify import identify_at_desk, identify_ticket
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.messages import zh
from branch_hub.vocabulary import (
    DASHBOARD_ROLES,
    DECLINE_REASON_MAX_CHARS,
    FOLLOW_UP_DATE_MAX_CHARS,
    NOTE_MAX_CHARS,
    QUEUE_ROLES,
    RECORDABLE_OUTCOMES,
    STAFF_ROLES,
    LeadOutcome,
    Role,
    TicketOperation,
    WriteClass,
)

__all__ = ["ROUTES"]

_VISIT_ID = re.compile(r"^[0-9a-f]{16}$")
_TICKET_ID = re.compile(r"^[0-9]{8}-[A-Z][0-9]{3,6}$")
_LEAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _desk(request: web.Request) -> StaffDesk:
    return request.app[HUB].desk


def _counters(request: web.Request) -> Counters:
    return request.app[HUB].counters


async def visits(request: web.Request) -> web.Response:
    """Today's visits (waiting, serving or all)."""
    context = require_staff(request, STAFF_ROLES)
    state = request.query.get("state", "all")
    if state not in {"waiting", "serving", "all"}:
        raise ApiError(400, "bad_state", "state must be waiting, serving or all")
    return web.json_response((await _desk(request).visits(context, state)).to_wire())


async def brief(request: web.Request) -> web.Response:
    """The visit's brief for the caller's role."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    return web.json_response(await _desk(request).brief(context, visit_id))


async def claim(request: web.Request) -> web.Response:
    """Claim the customer so nobody approaches twice."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request, optional=True)
    answer = await _desk(request).claim(context, visit_id, request_id(body))
    return web.json_response(answer.to_wire())


async def notes(request: web.Request) -> web.Response:
    """Add a note for colleagues."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    body = await json_body(request)
    text = req_str(body, "text", max_len=NOTE_MAX_CHARS)
    for_role = choice(opt_str(body, "for_role", max_len=32), Role, "for_role")
    desk = _desk(request)
    answer = await desk.add_note(context, visit_id, text, for_role, request_id(body))
    return web.json_response(answer.to_wire(), status=201)


async def lead_outcome(request: web.Request) -> web.Response:
    """Record the outcome of a lead."""
    context = require_staff(request, STAFF_ROLES)
    visit_id = path_param(request, "visit_id", _VISIT_ID)
    lead_id = path_param(request, "lead_id", _LEAD_ID)
    body = await json_body(request)
    outcome = choice(req_str(body, "outcome", max_len=32), LeadOutcome, "outcome")
    assert outcome is not None  # noqa: S101 (req_str never gives None)
    if outcome not in RECORDABLE_OUTCOMES:
        words = ", ".join(sorted(RECORDABLE_OUTCOMES))
        raise ApiError(400, "bad_outcome", f"'outcome' must be one of {words}")
    note = opt_str(body, "note", max_len=NOTE_MAX_CHARS)
    # The domain checks the reason code and the date (typed refusals with their Chinese).
    reason = opt_str(body, "reason", max_len=DECLINE_REASON_MAX_CHARS)
    follow_up_on = opt_str(body, "follow_up_on", max_len=FOLLOW_UP_DATE_MAX_CHARS)
    answer = await _desk(request).lead_outcome(
        context,
        visit_id,
        lead_id,
        outcome,
        note,
        request_id(body),
        reason=reason,
        follow_up_on=follow_up_on,
    )
    return web.json_response(answer.to_wire(), status=201)


async def call_next(request: web.Request) -> web.Response:
    """Call the next ticket to a counter."""
    context = require_staff(request, QUEUE_ROLES)
    counter_id = path_param(request, "counter_id")
    body = await json_body(request, optional=True)
    answer = await _counters(request).call_next(context, counter_id, request_id(body))
    return web.json_response(answer.to_wire())


def _ticket_handler(op: TicketOperation) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        context = require_staff(request, QUEUE_ROLES)
        ticket_id = path_param(request, "ticket_id", _TICKET_ID)
        transfer, resume = op is TicketOperation.TRANSFER, op is TicketOperation.RESUME
        body = await json_body(request, optional=not (transfer or resume))
        service = opt_str(body, "service", max_len=32) if transfer else None
        counter = opt_str(body, "counter", max_len=32) if transfer else None
        if resume:
            counter = req_str(body, "counter", max_len=32)
        answer = await _counters(request).ticket_op(
            context, ticket_id, op, service=service, counter=counter, request_id=request_id(body)
        )
        return web.json_response(answer.to_wire())

    handler.__doc__ = f"{op.value} a ticket."
    return handler


async def identify(request: web.Request) -> web.Response:
    """A walk-in's customer identifies: the ticket keeps its number and takes the class."""
    context = require_staff(request, QUEUE_ROLES)
    ticket_id = path_param(request, "ticket_id", _TICKET_ID)
    body = await json_body(request)
    by = req_str(body, "by", max_len=16)
    if by not in (*IDENTIFY_BY, IDENTIFY_AT_DESK):
        words = ", ".join((*IDENTIFY_BY, IDENTIFY_AT_DESK))
        raise ApiError(400, "bad_by", f"'by' must be one of {words}")
    hub, at_desk = request.app[HUB], by == IDENTIFY_AT_DESK
    lobby, actions = hub.lobby, hub.desk.actions
    if body.get("station" if not at_desk else "value") is not None:
        unasked = "value" if at_desk else "station"
        text = N_("'{key}' is not taken with by = {by}")
        fields = {"key": unasked, "by": by}
        raise ApiError(400, f"bad_{unasked}", text.format(**fields), zh(text).format(**fields))
    if at_desk:
        station = req_str(body, "station", max_len=STATION_MAX_CHARS)
        answer = await identify_at_desk(
            lobby, actions, context, ticket_id, station, request_id(body)
        )
    else:
        value = req_str(body, "value", max_len=IDENTIFY_VALUE_MAX_CHARS)
        answer = await identify_ticket(
            lobby, actions, context, ticket_id, by, value, request_id(body)
        )
    return web.json_response(answer.to_wire())


async def targets(request: web.Request) -> web.Response:
    """The services and counters a ticket may be transferred to (the counter's pickers)."""
    require_staff(request, QUEUE_ROLES)
    return web.json_response((await _counters(request).targets()).to_wire())


async def dashboard(request: web.Request) -> web.Response:
    """The queue dashboard for the lobby manager."""
    require_staff(request, DASHBOARD_ROLES)
    return web.json_response((await _counters(request).dashboard()).to_wire())


_VISIT = Param.matching("visit_id", _VISIT_ID.pattern)
_TICKET = Param.matching("ticket_id", _TICKET_ID.pattern)
_LEAD = Param.matching("lead_id", _LEAD_ID.pattern)
_COUNTER = Param.matching("counter_id", PATH_SAFE.pattern, example="C1")
_STATE = Param("state", {"type": "string", "enum": ["waiting", "serving", "all"]}, where="query")
_COMMAND = Body(CommandRequest, required=False)
_MOVED = {
    200: Reply("The ticket after the operation (null when nothing was waiting).", TicketResult)
}
# A command's refusals: a bad field, no such visit or ticket, a conflict, a store down.
_COMMAND_REFUSALS = frozenset({400, 404, 409, 503})
_TICKET_OPS = {
    TicketOperation.RECALL: ("recall", "Recall a called ticket (or a no-show within its grace)."),
    TicketOperation.NO_SHOW: ("noShow", "Mark a called ticket as a no-show."),
    TicketOperation.FINISH: (
        "finish",
        "Finish serving a ticket (it moves on to its next service, if any).",
    ),
    TicketOperation.PARK: ("park", "Park a called ticket (the counter becomes free)."),
    TicketOperation.TRANSFER: ("transfer", "Transfer a ticket to another service and/or counter."),
    TicketOperation.RESUME: (
        "resume",
        "Serve a parked ticket at a counter (its current ticket, if any, is finished first).",
    ),
}
_BODIES = {
    TicketOperation.TRANSFER: Body(TransferRequest, example={"service": "wealth"}),
    TicketOperation.RESUME: Body(ResumeRequest, example={"counter": "C1"}),
}


def _ticket_route(op: TicketOperation) -> Route:
    operation_id, summary = _TICKET_OPS[op]
    return staff_route(
        "POST",
        f"/api/v1/tickets/{{ticket_id}}/{op.value}",
        _ticket_handler(op),
        operation_id,
        summary,
        _MOVED,
        roles=QUEUE_ROLES,
        params=(_TICKET,),
        body=_BODIES.get(op, _COMMAND),
        refusals=_COMMAND_REFUSALS,
        limit=WriteClass.COMMAND,
    )


ROUTES = (
    staff_route(
        "GET",
        "/api/v1/visits",
        visits,
        "visits",
        "Today's visits.",
        {200: Reply("The visits in arrival order.", VisitList)},
        params=(_STATE,),
        refusals=frozenset({400, 503}),
    ),
    staff_route(
        "GET",
        "/api/v1/visits/{visit_id}/brief",
        brief,
        "brief",
        "The visit's brief for the caller's role (computed in memory, audited).",
        {200: Reply("The brief.", Brief)},
        params=(_VISIT,),
        refusals=frozenset({404, 503}),
    ),
    staff_route(
        "POST",
        "/api/v1/visits/{visit_id}/claim",
        claim,
        "claim",
        "Claim the customer (exclusive).",
        {200: Reply("Claimed.", ClaimResult)},
        params=(_VISIT,),
        body=_COMMAND,
        refusals=_COMMAND_REFUSALS,
        limit=WriteClass.COMMAND,
    ),
    staff_route(
        "POST",
        "/api/v1/visits/{visit_id}/notes",
        notes,
        "addNote",
        "Add a note for colleagues (optionally for one role).",
        {201: Reply("Added.", NoteResult)},
        params=(_VISIT,),
        body=Body(NoteRequest, example={"text": "客户想了解养老金账户"}),
        refusals=_COMMAND_REFUSALS,
        limit=WriteClass.NOTE,
    ),
    staff_route(
        "POST",
        "/api/v1/visits/{visit_id}/leads/{lead_id}/outcome",
        lead_outcome,
        "leadOutcome",
        "Record what happened with a lead: `declined` needs a `reason`, `follow_up` a "
        "`follow_up_on` date; a lead the brief lists under `do_not_repitch` is refused (409).",
        {201: Reply("Recorded.", OutcomeResult)},
        params=(_VISIT, _LEAD),
        body=Body(
            LeadOutcomeRequest,
            example={"outcome": "declined", "reason": "rate_unattractive", "note": "嫌收益低"},
        ),
        refusals=_COMMAND_REFUSALS,
        limit=WriteClass.COMMAND,
    ),
    staff_route(
        "POST",
        "/api/v1/counters/{counter_id}/call-next",
        call_next,
        "callNext",
        "Call the next ticket to a counter (opening it if closed).",
        _MOVED,
        roles=QUEUE_ROLES,
        params=(_COUNTER,),
        body=_COMMAND,
        refusals=frozenset({404, 409, 503}),
        limit=WriteClass.COMMAND,
    ),
    *(_ticket_route(op) for op in TicketOperation),
    staff_route(
        "POST",
        "/api/v1/tickets/{ticket_id}/identify",
        identify,
        "identifyTicket",
        "A walk-in's customer shows an ID card, passbook or card: the waiting ticket keeps its "
        "number and takes the customer's class as from its entry; tablets get the brief. With "
        "`by: desk` and a `station` (GET /desks) the hub waits up to `[hub] desk_read_wait_s` "
        "(20 s) for the next read at that desk's reader (a read up to 10 s before the request "
        "counts): none is `desk_read_timeout` (409), another request waiting there `desk_busy` "
        "(409), no such desk `unknown_desk` (404).",
        _MOVED,
        roles=QUEUE_ROLES,
        params=(_TICKET,),
        body=Body(IdentifyRequest, example={"by": "id_number", "value": "110101199003071234"}),
        refusals=_COMMAND_REFUSALS,
        limit=WriteClass.COMMAND,
    ),
    staff_route(
        "GET",
        "/api/v1/queue/targets",
        targets,
        "queueTargets",
        "The services and counters a ticket may be transferred to, with names and state.",
        {200: Reply("Services with waiting counts; counters open or busy.", QueueTargets)},
        roles=QUEUE_ROLES,
        refusals=frozenset({503}),
    ),
    staff_route(
        "GET",
        "/api/v1/queue/dashboard",
        dashboard,
        "dashboard",
        "The lobby manager's queue dashboard.",
        {200: Reply("Queues, counters, current calls, longest wait.", Dashboard)},
        roles=DASHBOARD_ROLES,
        refusals=frozenset({503}),
    ),
)
