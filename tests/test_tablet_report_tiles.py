"""The tablet's report tiles: the appointments kept and missed, from a real report's figures."""

from __future__ import annotations

from pathlib import Path

from branch_hub.client.models import BranchReport
from tablet.i18n import use_language
from tablet.report_words import headline
from tests.test_reports_pdf import _day_report


def test_the_headline_counts_appointments_kept_of_booked_and_no_shows(tmp_path: Path) -> None:
    body, _name, _tiers = _day_report(tmp_path)
    report = BranchReport.from_wire(body)
    try:
        use_language("en")
        tiles = {t.caption: t.value for t in headline(report)}
        assert tiles["Appointments kept / booked"] == "14 / 15"
        assert tiles["Appointment no-shows"] == "1"
        use_language("zh_CN")
        captions = [t.caption for t in headline(report)]
        assert "预约到店 / 预约" in captions
        assert "预约未到" in captions
    finally:
        use_language("zh_CN")
