"""Report periods and a generated busy day recounted from its rows (waits over target, idle)."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.report_rows import MonthShape, write_month
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.config import parse_config
from branch_hub.database import HubDatabase
from branch_hub.lobby.visits import VisitStore
from branch_hub.outbox import Outbox
from branch_hub.push import EventLog
from branch_hub.reports import (
    BadReportPeriod,
    ConfirmedPurchase,
    Period,
    PeriodKind,
    ReportDesk,
    ReportSources,
    period_of,
)
from tests.support.report_recount import queue_part, work_part

TODAY = date(2026, 12, 3)  # a Thursday


def test_periods_are_a_day_an_iso_week_and_a_calendar_month() -> None:
    assert period_of("day", "2026-12-01", TODAY) == Period(
        PeriodKind.DAY, date(2026, 12, 1), date(2026, 12, 1)
    )
    week = period_of("week", None, TODAY)
    assert (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
    month = period_of("month", "2026-02-14", TODAY)
    assert (month.first, month.last, len(month.days())) == (date(2026, 2, 1), date(2026, 2, 28), 28)
    for kind, day in [
        ("year", None),
        ("day", "2026-12-04"),
        ("day", "20261201"),
        ("day", "2026-02-30"),
        ("week", "yesterday"),
    ]:
        with pytest.raises(BadReportPeriod):
            period_of(kind, day, TODAY)


def test_a_generated_busy_day_matches_its_recount(tmp_path: Path) -> None:
    cipher = AtRestCipher(load_or_create_key(tmp_path / "atrest.key"))
    db = HubDatabase(tmp_path / "hub.db")
    visits, outbox = VisitStore(db, cipher), Outbox(db, cipher)
    first = date(2025, 12, 1)
    leads = write_month(
        db, visits, outbox, first, MonthShape(peak=120, days=1, service_mean_s=700, seed=3)
    )
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    config = parse_config(tomllib.loads(raw))
    for n, lead in enumerate(
        sorted(leads)
    ):  # HQ confirmed some: most the lead's product, a few not
        if n % 3 == 0:
            product = leads[lead].product_codes[0] if n % 4 else "FD2026A0001"
            confirmed = ConfirmedPurchase("2025-12-04", product)
            leads[lead] = dataclasses.replace(leads[lead], confirmed=confirmed)

    def lookup(customer_id: str, lead_id: str) -> Any:
        return leads.get((customer_id, lead_id))

    async def no_audit(*_: object, **__: object) -> None:
        return None

    desk = ReportDesk(
        config,
        ReportSources(db, visits, outbox, lookup, dict, EventLog(db, cipher)),
        no_audit,
        lambda: datetime.now(UTC),
    )
    report = desk.build(Period(PeriodKind.DAY, first, first), True)
    hub: Any = SimpleNamespace(
        db=db, config=config, outbox=outbox, lobby=SimpleNamespace(visits=visits)
    )
    facts = {
        k: (v.lead_type, v.product_codes, v.confirmed.product if v.confirmed else None)
        for k, v in leads.items()
    }
    queue, served = queue_part(hub, first.isoformat())
    work, worked = work_part(hub, first.isoformat(), facts)
    for key, value in (queue | work).items():
        assert report[key] == value, key
    lines = {line["staff_id"]: line for line in report["staff"]}
    for staff_id, line in served.items():
        assert {k: lines[staff_id][k] for k in line} == line, staff_id
    for staff_id, line in worked.items():
        assert {k: lines[staff_id][k] for k in line} == line, staff_id
    assert 0 < report["leads"]["total"]["confirmed"] < report["leads"]["total"]["accepted"]
    assert sum(w["breaches"] for w in report["waits"]) > 0  # a busy day: some waited too long
    assert sum(line["idle_while_waiting_s"] for line in report["staff"]) > 0
    text = json.dumps(report)
    assert not any(v.customer_id and v.customer_id in text for v in visits.of_day("2025-12-01"))
    db.close()
