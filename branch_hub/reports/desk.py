"""The branch report desk: builds a day, week or month report off the event loop and audits it.

Sources are the hub's own tables (queue events, visits, the HQ outbox, product views) read in a
worker thread; the result holds aggregates only. The per-staff table goes to the branch manager
(role `branch_admin`) alone; the lobby manager gets the same report without it. Every report
view is audited (`report_view`) with the period and whether the staff table was shown. The
day report for HQ (`hq_day_report`) goes with the nightly batch: no staff table, aggregates only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from branch_hub.config import BranchConfig
from branch_hub.context import RequestContext
from branch_hub.database import HubDatabase
from branch_hub.lobby.appointment_book import Appointment
from branch_hub.lobby.board_figures import targets
from branch_hub.lobby.visits import VisitStore
from branch_hub.outbox import Outbox
from branch_hub.push import EventLog
from branch_hub.reports.appointment_figures import AppointmentTally
from branch_hub.reports.devices import device_figures
from branch_hub.reports.hq_link import hq_link
from branch_hub.reports.pdf import report_pdf
from branch_hub.reports.period import Period, period_of
from branch_hub.reports.queue_figures import QueueTally
from branch_hub.reports.stats import duration_summary
from branch_hub.reports.work_figures import LeadLookup, WorkTally, conversion_line
from branch_hub.retention import business_day_start
from branch_hub.security.audit_fields import looks_like_card_or_id_number
from branch_hub.vocabulary import Role

__all__ = [
    "STAFF_TABLE_ROLES",
    "ReportAnswer",
    "ReportDesk",
    "ReportSources",
    "UnfitForHq",
    "hq_fit",
]

STAFF_TABLE_ROLES = frozenset({Role.BRANCH_ADMIN})


class UnfitForHq(ValueError):
    """A report about to leave for HQ holds something that is not an aggregate."""


@dataclass(frozen=True)
class ReportSources:
    """Where a report reads from (all blocking: called in a worker thread)."""

    db: HubDatabase
    visits: VisitStore
    outbox: Outbox
    lookup: LeadLookup
    staff: Callable[[], Mapping[str, tuple[str, str]]]
    log: EventLog
    appointments: Callable[[str], list[Appointment]] = lambda day: []  # the day's bookings


@dataclass(frozen=True)
class ReportAnswer:
    """GET /reports/{period}'s answer: aggregates of one branch for one period."""

    body: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return self.body


class ReportDesk:
    """Builds branch reports for one branch."""

    def __init__(
        self,
        config: BranchConfig,
        sources: ReportSources,
        audit: Callable[..., Any],
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.sources = sources
        self.audit = audit  # Actions.audit_view
        self.clock = clock
        self.zone = ZoneInfo(config.branch.timezone)

    def today(self) -> date:
        """The branch's business day now."""
        return self.clock().astimezone(self.zone).date()

    async def report(
        self, caller: RequestContext, kind: str, day: str | None, printed: bool = False
    ) -> ReportAnswer:
        """The caller's report for the period (staff table only for the branch manager)."""
        period = period_of(kind, day, self.today())
        with_staff = caller.role in STAFF_TABLE_ROLES
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(None, self.build, period, with_staff)
        detail = {
            "period": str(period.kind),
            "first_day": period.first.isoformat(),
            "staff_table": with_staff,
        } | ({"format": "pdf"} if printed else {})
        await self.audit(caller, "report_view", None, detail=detail)
        return ReportAnswer(body)

    async def report_pdf(self, caller: RequestContext, kind: str, day: str | None) -> bytes:
        """The caller's report as A4 PDF pages, rendered in a worker thread (audited as a view)."""
        answer = await self.report(caller, kind, day, printed=True)
        branch = self.config.branch
        tiers = {tier.code: tier.name_zh for tier in self.config.tiers}
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, report_pdf, answer.body, branch.name_zh, tiers)

    def hq_day_report(self, day: str) -> dict[str, Any]:
        """The finished business day's report for HQ: no staff table (blocking: a worker's)."""
        body = self.build(period_of("day", day, self.today()), with_staff=False)
        del body["staff"]
        return hq_fit(body)

    def build(self, period: Period, with_staff: bool) -> dict[str, Any]:
        """The report's figures (blocking: a worker's)."""
        queue = QueueTally(self.zone, targets(self.config.tiers))
        work = WorkTally(_cached(self.sources.lookup))
        booked = AppointmentTally(
            self.clock().astimezone(self.zone).replace(tzinfo=None),
            self.config.appointments.late_min,
        )
        business_days = []
        for day in period.days():
            text = day.isoformat()
            events = list(self._queue_events(text))
            if events:
                business_days.append(text)
            queue.add_day(events, self.sources.visits.of_day(text))
            work.add_records(
                (i.idempotency_key, i.kind, i.at, i.payload)
                for i in self.sources.outbox.for_day(text)
            )
            work.add_views(self._views(text))
            booked.add_day(self.sources.appointments(text))
        body: dict[str, Any] = {
            "branch_id": self.config.branch.id,
            "period": str(period.kind),
            "first_day": period.first.isoformat(),
            "last_day": period.last.isoformat(),
            "business_days": business_days,
            "generated_at": self.clock().astimezone(UTC).isoformat(timespec="seconds"),
        }
        body |= queue.figures() | work.figures() | booked.figures()
        body["hq_link"] = hq_link(self.sources.db, [d.isoformat() for d in period.days()])
        start = business_day_start(self.config.branch.timezone, period.first)
        end = business_day_start(self.config.branch.timezone, period.last + timedelta(1))
        body["devices"] = device_figures(self.sources.log, start, end, self.clock())
        body["staff"] = self._staff(queue, work) if with_staff else None
        return body

    def _queue_events(self, day: str) -> Iterator[dict[str, Any]]:
        with self.sources.db.reading() as db:
            rows = db.execute("SELECT body FROM events WHERE day = ? ORDER BY seq", (day,))
            bodies = [r[0] for r in rows.fetchall()]
        return (orjson.loads(b) for b in bodies)

    def _views(self, day: str) -> list[tuple[str, str, str, int]]:
        with self.sources.db.reading() as db:
            rows = db.execute(
                "SELECT staff_id, product_code, mode, COUNT(*) FROM product_views WHERE day = ?"
                " GROUP BY staff_id, product_code, mode",
                (day,),
            ).fetchall()
        return [(s, c, m, int(n)) for s, c, m, n in rows]

    def _staff(self, queue: QueueTally, work: WorkTally) -> list[dict[str, Any]]:
        directory = self.sources.staff()
        served, worked = queue.staff_figures(), work.staff_figures()
        lines = []
        for staff_id in sorted(set(served) | set(worked)):
            name, role = directory.get(staff_id, (None, None))
            line: dict[str, Any] = {"staff_id": staff_id, "name": name, "role": role}
            line |= {"service": duration_summary([]), "idle_s": 0.0, "idle_while_waiting_s": 0.0}
            line |= {"leads": conversion_line({}), "handoffs_given": 0}
            line |= {"handoffs_taken": duration_summary([]), "product_views": 0}
            line |= served.get(staff_id, {}) | worked.get(staff_id, {})
            lines.append(line)
        return lines


def hq_fit(report: dict[str, Any]) -> dict[str, Any]:
    """The report unchanged if no value in it could name a person; UnfitForHq otherwise."""
    names = ("staff", "staff_id", "customer_id", "name", "pan", "card_pan", "id_number")
    pending: list[Any] = [report]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if any(key in value for key in names):
                raise UnfitForHq("the report holds a person's field")
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and looks_like_card_or_id_number(value):
            raise UnfitForHq("the report holds a card or ID number")
    return report


def _cached(lookup: LeadLookup) -> LeadLookup:
    """One cache lookup per (customer, lead) within a report build."""
    seen: dict[tuple[str, str], Any] = {}

    def cached(customer_id: str, lead_id: str) -> Any:
        key = (customer_id, lead_id)
        if key not in seen:
            seen[key] = lookup(customer_id, lead_id)
        return seen[key]

    return cached
