"""The branch report's PDF: a generated busy day rendered to A4 pages, rasterised and inspected."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import subprocess
import tomllib
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from bench.report_rows import MonthShape, write_month
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.client import AsyncHubClient, DeviceTls, HubClient, HubRejected
from branch_hub.config import parse_config
from branch_hub.database import HubDatabase
from branch_hub.lobby.appointment_book import Appointment
from branch_hub.lobby.visits import VisitStore
from branch_hub.outbox import Outbox
from branch_hub.push import EventLog
from branch_hub.reports import ConfirmedPurchase, Period, PeriodKind, ReportDesk, ReportSources
from branch_hub.reports.pdf import report_pdf
from tests.support.hub_thread import ThreadedHub
from tests.support.tlsenv import make_tls_env

FIRST = date(2025, 12, 1)
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def _day_report(tmp: Path) -> tuple[dict[str, Any], str, dict[str, str]]:
    cipher = AtRestCipher(load_or_create_key(tmp / "atrest.key"))
    db = HubDatabase(tmp / "hub.db")
    visits, outbox = VisitStore(db, cipher), Outbox(db, cipher)
    leads = write_month(
        db, visits, outbox, FIRST, MonthShape(peak=120, days=1, service_mean_s=700, seed=3)
    )
    for n, key in enumerate(sorted(leads)):  # HQ has since confirmed a third as purchases
        if n % 3 == 0:
            bought = ConfirmedPurchase(FIRST.isoformat(), leads[key].product_codes[0])
            leads[key] = dataclasses.replace(leads[key], confirmed=bought)
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    config = parse_config(tomllib.loads(raw))

    async def no_audit(*_: object, **__: object) -> None:
        return None

    staff = {"s-anna": ("王丽", "lobby_manager")}
    sources = ReportSources(
        db,
        visits,
        outbox,
        lambda c, lead: leads.get((c, lead)),
        lambda: staff,
        EventLog(db, cipher),
        lambda day: _bookings() if day == FIRST.isoformat() else [],
    )
    desk = ReportDesk(config, sources, no_audit, lambda: datetime.now(UTC))
    report = desk.build(Period(PeriodKind.DAY, FIRST, FIRST), True)
    db.close()
    return report, config.branch.name_zh, {t.code: t.name_zh for t in config.tiers}


# The day's bookings: (channel, arrival, status) -> how many; a past day has none pending.
BOOKINGS = {
    ("mobile_banking", "early", "checked_in"): 3,
    ("mobile_banking", "on_time", "checked_in"): 4,
    ("call_centre", "late", "checked_in"): 2,
    ("manager", None, "no_show"): 1,
    ("branch", "on_time", "checked_in"): 5,
}


def _bookings() -> list[Appointment]:
    out = []
    for (channel, arrival, status), count in BOOKINGS.items():
        for n in range(count):
            out.append(
                Appointment(
                    f"hq:{channel}-{n}",
                    FIRST.isoformat(),
                    "c-1",
                    "wealth",
                    f"{FIRST}T10:00",
                    f"{FIRST}T10:30",
                    channel,
                    status=status,
                    arrival=arrival,
                )
            )
    return out


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def _rasterise(pdf: bytes, tmp: Path) -> list[Path]:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm missing: ./run installs poppler-utils")
    (tmp / "report.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "60", "-png", str(tmp / "report.pdf"), str(tmp / "page")],
        check=True,
        timeout=60,
    )
    return sorted(tmp.glob("page-*.png"))


def _page_text(pdf: bytes, tmp: Path, page: int) -> str:
    """One page's text, from pdftotext."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext missing: ./run installs poppler-utils")
    (tmp / "text.pdf").write_bytes(pdf)
    done = subprocess.run(
        [pdftotext, "-layout", "-f", str(page), "-l", str(page), str(tmp / "text.pdf"), "-"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return done.stdout.decode("utf-8")


def _recognition_listed(pdf: bytes, tmp: Path) -> None:
    """Page 1 lists recognition by method, chip and stripe cards apart."""
    text = _page_text(pdf, tmp, 1)
    for words in ("客户识别方式", "银行卡（芯片）", "银行卡（磁条）", "存折", "身份证"):
        assert words in text, words
    assert "旧记录" not in text  # no visit of the day says "pan"


def test_a_busy_day_prints_as_four_a4_pages_with_chinese_and_charts(tmp_path: Path) -> None:
    report, branch_name, tiers = _day_report(tmp_path)
    pdf = report_pdf(report, branch_name, tiers)
    assert pdf.startswith(b"%PDF-")
    assert _pages(pdf) == 4  # figures and charts, two of tables (products run on), the staff table
    assert b"/FontFile2" in pdf  # the Chinese font travels inside the file
    without_staff = report_pdf(report | {"staff": None}, branch_name, tiers)
    assert _pages(without_staff) == 3
    assert b"s-anna" not in without_staff
    pages = _rasterise(pdf, tmp_path)
    assert len(pages) == 4
    _recognition_listed(pdf, tmp_path)
    _appointments_listed(pdf, tmp_path)
    for page in pages:
        with Image.open(page) as image:
            assert image.size[0] < image.size[1]  # portrait A4
            assert ImageStat.Stat(image.convert("L")).stddev[0] > 10  # not blank
    if os.environ.get("BRANCH_EDGE_SCREENSHOTS") == "docs":
        _save_first_page(pdf, tmp_path)


def _appointments_listed(pdf: bytes, tmp: Path) -> None:
    """Page 2 counts the booked customers by how they came, and the bookings by channel."""
    text = _page_text(pdf, tmp, 2)
    assert "预约到店" in text
    assert "预约客户到店情况" in text  # the chart's caption
    header = "预约 提前签到 准时签到 迟到签到 超时到店 爽约未到 待到店"
    assert re.search(r"\s+".join(header.split()), text), text
    # 15 booked: 3 early, 9 on time, 2 late, none after the grace, 1 no-show, none to come
    assert re.search(r"\b15\s+3\s+9\s+2\s+0\s+1\s+0\b", text), text
    for channel, count, part in (
        ("手机银行", 7, "47%"), ("网点预约", 5, "33%"), ("客服中心", 2, "13%"), ("客户经理", 1, "7%")
    ):  # fmt: skip
        assert re.search(rf"{channel}\s+{count}\s+{part}", text), channel


def _save_first_page(pdf: bytes, tmp: Path) -> None:
    """docs/screenshots/report-pdf-page1.png at a readable resolution."""
    (tmp / "shot.pdf").write_bytes(pdf)
    out = tmp / "shot"
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "90",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(tmp / "shot.pdf"),
            str(out),
        ],
        check=True,
        timeout=60,
    )
    shutil.copyfile(out.with_suffix(".png"), SHOTS / "report-pdf-page1.png")


def test_both_clients_fetch_the_pdf_and_the_view_is_audited(tmp_path: Path) -> None:
    tls = make_tls_env(tmp_path / "pki")
    hub = ThreadedHub(tmp_path / "hub", tls).start()
    try:
        cert, key = tls.client("tab-1", "tablet")
        device = DeviceTls(cert, key, tls.ca_path)
        sync = HubClient(hub.url, device, token=hub.login("tab-1"))
        pdf = sync.branch_report_pdf("week")
        assert pdf.startswith(b"%PDF-")
        assert _pages(pdf) == 2  # the lobby manager's: no staff page
        with pytest.raises(HubRejected) as caught:
            sync.branch_report_pdf("day", "2999-01-01")
        assert (caught.value.status, caught.value.code) == (400, "bad_report_period")

        assert hub.hub is not None
        security = hub.hub.security
        security.staff.add("S-BM", "Branch Manager", "branch_admin", "580214")
        manager = security.sessions.create("S-BM", "branch_admin", "Branch Manager", "tab-1")

        async def fetch() -> bytes:
            client = AsyncHubClient(hub.url, device, token=manager)
            try:
                return await client.branch_report_pdf("day")
            finally:
                await client.close()

        assert _pages(asyncio.run(fetch())) == 3  # the branch manager's has the staff table
        hub.hub.audit.flush(10)
        views = [e for e in hub.hub.audit.entries() if e.action == "report_view"]
        assert [e.staff_id for e in views] == ["S-LOBBY", "S-BM"]
    finally:
        hub.close()
