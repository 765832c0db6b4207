"""Branch report build time for a busy month against a plain GROUP BY over the same rows.

`python -m bench.report_month [--peak 300] [--days 26]`: writes a month of a busy branch (peak
arrivals an hour, Mondays to Saturdays) into a fresh hub database through the hub's own writers,
then times `ReportDesk.build` for the month (with the staff table) and, in the same run, a plain
`GROUP BY` that only counts the same rows (queue events by day and kind, HQ records by day and
kind, product views by day and mode), and the month's PDF render (`pdf_s`, against the build as
`pdf_vs_report`). The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from bench.report_rows import MonthShape, write_month
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.config import parse_config
from branch_hub.database import HubDatabase
from branch_hub.lobby.visits import VisitStore
from branch_hub.outbox import Outbox
from branch_hub.push import EventLog
from branch_hub.reports import Period, PeriodKind, ReportDesk, ReportSources
from branch_hub.reports.pdf import report_pdf

FIRST = date(2025, 12, 1)  # a Monday: 26 business days fit in December
GROUP_BY = (
    "SELECT day, kind, COUNT(*) FROM events WHERE day BETWEEN ? AND ? GROUP BY day, kind",
    "SELECT business_day, kind, COUNT(*) FROM outbox WHERE business_day BETWEEN ? AND ?"
    " GROUP BY business_day, kind",
    "SELECT day, mode, COUNT(*) FROM product_views WHERE day BETWEEN ? AND ? GROUP BY day, mode",
)


def _desk(
    db: HubDatabase, cipher: AtRestCipher, visits: VisitStore, outbox: Outbox, leads: Any
) -> ReportDesk:
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    config = parse_config(tomllib.loads(raw))
    log = EventLog(db, cipher)
    sources = ReportSources(db, visits, outbox, lambda c, lead: leads.get((c, lead)), dict, log)

    async def no_audit(*_: object, **__: object) -> None:
        return None

    return ReportDesk(config, sources, no_audit, lambda: datetime.now(UTC))


def _timed(fn: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run(peak: int, days: int, repeat: int) -> dict[str, Any]:
    """Write the month, time both reads, return the figures."""
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        cipher = AtRestCipher(load_or_create_key(tmp / "atrest.key"))
        db = HubDatabase(tmp / "hub.db")
        visits, outbox = VisitStore(db, cipher), Outbox(db, cipher)
        t0 = time.perf_counter()
        leads = write_month(db, visits, outbox, FIRST, MonthShape(peak=peak, days=days))
        write_s = time.perf_counter() - t0
        desk = _desk(db, cipher, visits, outbox, leads)
        month = Period(PeriodKind.MONTH, FIRST, date(2025, 12, 31))
        build_s, report = _timed(lambda: desk.build(month, True), repeat)
        bounds = (month.first.isoformat(), month.last.isoformat())

        def plain() -> int:
            with db.reading() as conn:
                return sum(len(conn.execute(sql, bounds).fetchall()) for sql in GROUP_BY)

        plain_s, _ = _timed(plain, repeat)
        tiers = {t.code: t.name_zh for t in desk.config.tiers}
        pdf_s, pdf = _timed(lambda: report_pdf(report, desk.config.branch.name_zh, tiers), repeat)
        events = db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        db.close()
    return {
        "peak_per_hour": peak,
        "business_days": len(report["business_days"]),
        "arrivals": report["arrivals"]["total"],
        "queue_events": events,
        "lead_outcomes": report["leads"]["total"]["presented"],
        "write_s": round(write_s, 2),
        "report_month_s": round(build_s, 3),
        "plain_group_by_s": round(plain_s, 4),
        "report_vs_group_by": round(build_s / plain_s, 1) if plain_s else None,
        "pdf_s": round(pdf_s, 3),
        "pdf_kb": round(len(pdf) / 1024, 1),
        "pdf_vs_report": round(pdf_s / build_s, 3) if build_s else None,
    }


def main() -> None:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog="python -m bench.report_month")
    p.add_argument("--peak", type=int, default=300, help="arrivals in the busiest hour")
    p.add_argument("--days", type=int, default=26, help="business days in the month (<= 27)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each read (median)")
    args = p.parse_args()
    print(json.dumps(run(args.peak, min(args.days, 27), args.repeat)))


if __name__ == "__main__":
    main()
