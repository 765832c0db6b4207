"""The branch's day, week and month reports for its managers (aggregates only; audited)."""

from __future__ import annotations

import re

from aiohttp import web

from branch_hub.api.app import HUB
from branch_hub.api.bodies import path_param
from branch_hub.api.guards import require_staff
from branch_hub.api.routes import Param, Reply, staff_route
from branch_hub.client.models import BranchReport
from branch_hub.vocabulary import DASHBOARD_ROLES

__all__ = ["ROUTES"]

_PERIOD = re.compile(r"^(day|week|month)$")


async def report(request: web.Request) -> web.Response:
    """The branch's report for the period holding `date` (default today)."""
    context = require_staff(request, DASHBOARD_ROLES)
    period = path_param(request, "period", _PERIOD)
    answer = await request.app[HUB].reports.report(context, period, request.query.get("date"))
    return web.json_response(answer.to_wire())


async def report_pdf(request: web.Request) -> web.Response:
    """The same report as A4 PDF pages to print or mail."""
    context = require_staff(request, DASHBOARD_ROLES)
    period = path_param(request, "period", _PERIOD)
    hub = request.app[HUB]
    pdf = await hub.reports.report_pdf(context, period, request.query.get("date"))
    return web.Response(body=pdf, content_type="application/pdf")


_PARAMS = (
    Param.matching("period", _PERIOD.pattern, example="day"),
    Param("date", {"type": "string", "format": "date"}, where="query"),
)

ROUTES = (
    # Before the JSON route: `{period}` alone would also match `day.pdf`.
    staff_route(
        "GET",
        "/api/v1/reports/{period}.pdf",
        report_pdf,
        "branchReportPdf",
        "The same report as A4 PDF pages the branch can print or mail: headline figures, charts "
        "(arrivals by hour, waits against the tier targets, conversion by lead type) and tables, "
        "in Chinese with the font embedded. Same roles, staff-table rule and audit as the JSON "
        "report (`report_view` with `format: pdf`).",
        {
            200: Reply(
                "The PDF document.",
                {"type": "string", "format": "binary"},
                media_type="application/pdf",
            )
        },
        roles=DASHBOARD_ROLES,
        params=_PARAMS,
        refusals=frozenset({400, 404}),
    ),
    staff_route(
        "GET",
        "/api/v1/reports/{period}",
        report,
        "branchReport",
        "The branch's report for one business day, ISO week or calendar month (the one holding "
        "`date`, default today): arrivals, recognition, tickets, waits against the tier targets, "
        "service and idle time, lead conversion, hand-offs, product views and the HQ link. "
        "Aggregates only; the per-staff table for the branch manager only (null for the lobby "
        "manager); every view is audited (`report_view`).",
        {200: Reply("The period's figures.", BranchReport)},
        roles=DASHBOARD_ROLES,
        params=_PARAMS,
        refusals=frozenset({400, 404}),
    ),
)
