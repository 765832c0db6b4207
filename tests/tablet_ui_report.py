"""The branch report on the tablet under Xvfb against a real hub (run by tests/test_tablet_ui.py).

Customers arrive, a teller calls and finishes one, a wealth manager records a lead outcome; the
branch manager opens today's report from the lobby board and sees the hub's figures and the staff
table, with HQ's confirmed purchases beside the accepted leads; the lobby manager sees the same
report without the staff table; a week tab fetches the week.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from branch_hub.client.models import BranchReport
from branch_hub.security.errors import StaffError
from tablet.report_share import report_folder
from tests.support.tablethub import PIN
from tests.tablet_ui_scenarios import (
    ROOT,
    SHOTS,
    Device,
    Rig,
    check_touch_targets,
    harness,
    press,
    rig,
)

__all__ = ["harness", "rig"]


def _texts(device: Device) -> list[str]:
    return [str(getattr(w, "text", "")) for w in device.view.walk()]


def _day(rig: Rig) -> None:
    """Three arrivals, one called and finished at a counter, one lead accepted."""
    counter = rig.device("RPT-CT1", kind="counter")
    rig.login("RPT-CT1", "t1")
    for _ in range(2):
        rig.hub.arrive(None, service="cash")
    press(rig, counter.view, "call_next")
    rig.until(lambda: counter.tablet.state.serving is not None, "a ticket called")
    press(rig, counter.view, "finish")
    rig.until(lambda: counter.tablet.state.serving is None, "finished")
    counter.tablet.logout()

    wealth = rig.device("RPT-WM1")
    rig.login("RPT-WM1", "w1")
    customer = rig.vip(0)
    number = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]["number"]
    board = wealth.tablet.state.board
    rig.until(lambda: any(v.ticket == number for v in board.visits.values()), "the arrival")
    visit_id = next(v.visit_id for v in board.visits.values() if v.ticket == number)
    wealth.tablet.open_brief(visit_id)
    rig.until(lambda: wealth.tablet.state.brief is not None, "the brief")
    lead = wealth.tablet.state.brief.leads[0]
    wealth.tablet.record_outcome(visit_id, lead.lead_id, "accepted")
    rig.until(lambda: not wealth.tablet.busy, "the outcome recorded")
    assert not wealth.tablet.failures, list(wealth.tablet.failures)
    wealth.tablet.logout()


def _report(device: Device) -> BranchReport | None:
    report: BranchReport | None = device.tablet.state.report
    return report


def _open_report(rig: Rig, device: Device) -> BranchReport:
    rig.until(lambda: device.view.drawn_screen == "board", "the lobby board")
    press(rig, device.view, "to_report")
    rig.until(lambda: device.view.drawn_screen == "report", "the report screen")
    rig.until(lambda: _report(device) is not None, "the report fetched")
    rig.harness.frames(3)
    report = _report(device)
    assert report is not None
    return report


def test_branch_manager_sees_the_report_and_the_staff_table(rig: Rig) -> None:
    with contextlib.suppress(StaffError):
        rig.hub.hub.security.staff.add("bm1", "网点负责人 Branch One", "branch_admin", PIN)  # type: ignore[union-attr]
    _day(rig)
    boss = rig.device("RPT-BM1")
    rig.login("RPT-BM1", "bm1")
    shown = _open_report(rig, boss)
    hub: Any = boss.tablet._client()
    truth = hub.branch_report("day")
    assert shown.arrivals.total == truth.arrivals.total >= 3
    assert shown.leads.total.accepted == truth.leads.total.accepted >= 1
    assert shown.no_shows == truth.no_shows
    assert shown.leads.total.confirmed == truth.leads.total.confirmed
    texts = _texts(boss)
    leads = truth.leads.total
    assert f"{leads.confirmed} / {leads.accepted}" in texts, "confirmed beside accepted"
    assert "已确认购买 / 已接受" in texts
    assert "各类商机：员工登记已接受与总行已确认购买" in texts
    assert boss.view.screen.ids.confirmed.children, "the confirmed-purchase bars drawn"
    assert "已确认购买" in texts, "the staff table's confirmed column"
    assert str(truth.arrivals.total) in texts
    assert f"{truth.leads.total.accepted} / {truth.leads.total.presented}" in texts
    assert "到店客户" in texts
    assert "各时段到店" in texts
    assert shown.staff is not None
    assert any(line.name for line in shown.staff)
    assert "服务笔数" in texts, "the staff table's headings"
    assert any(line.name in texts for line in shown.staff if line.name)
    assert boss.view.screen.ids.hours.bars, "arrivals by hour drawn"
    assert truth.recognition.by_method["chip_card"] >= 1, "the card was dipped: its chip read"
    assert "银行卡（芯片）" in texts
    assert "银行卡（磁条）" in texts
    assert "银行卡（旧记录）" not in texts, "no visit stored before chip and stripe were apart"
    check_touch_targets(boss.view)
    rig.shot(SHOTS / "tablet-report.png")
    boss.view.screen.ids.scroll.scroll_y = 0  # the staff table at the foot
    rig.harness.frames(3)
    rig.shot(SHOTS / "tablet-report-staff.png")

    press(rig, boss.view, "tab_week")
    rig.until(lambda: _report(boss) is not None and _report(boss).period == "week", "the week")
    assert _report(boss).arrivals.total >= truth.arrivals.total  # type: ignore[union-attr]
    press(rig, boss.view, "to_board")
    rig.until(lambda: boss.view.drawn_screen == "board", "back to the board")
    boss.tablet.logout()
    assert boss.tablet.state.report is None


def test_lobby_manager_sees_the_report_without_the_staff_table(rig: Rig) -> None:
    lobby = rig.device("RPT-LM1")
    rig.login("RPT-LM1", "lm1")
    press(rig, lobby.view, "to_board")
    report = _open_report(rig, lobby)
    assert report.staff is None
    assert report.arrivals.total >= 3
    texts = _texts(lobby)
    assert "服务笔数" not in texts
    assert not lobby.view.screen.has_staff
    rig.shot(SHOTS / "tablet-report-lobby.png")
    lobby.tablet.logout()


def _recorder(name: str) -> tuple[str, Path]:
    """A stand-in for xdg-open that writes down the path it was given (and opens nothing)."""
    folder = ROOT / "pdf-opener"
    folder.mkdir(parents=True, exist_ok=True)
    script, seen = folder / f"{name}.sh", folder / f"{name}.seen"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{seen}"\n', "utf-8")
    script.chmod(0o700)
    return str(script), seen


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def _first_page_not_blank(pdf: Path) -> None:
    from PIL import Image, ImageStat

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm missing: ./run installs poppler-utils")
    out = ROOT / "pdf-opener" / "page1"
    args = ["-r", "50", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(out)]
    subprocess.run([pdftoppm, *args], check=True, timeout=60)
    with Image.open(out.with_suffix(".png")) as image:
        assert ImageStat.Stat(image.convert("L")).stddev[0] > 10, "page 1 is blank"
    out.with_suffix(".png").unlink()


def test_branch_manager_gets_the_pdf_and_it_leaves_at_logout(rig: Rig) -> None:
    boss = rig.devices["RPT-BM1"]
    command, seen = _recorder("bm1")
    boss.tablet.store.save_settings(report_opener=command)
    rig.login("RPT-BM1", "bm1")
    _open_report(rig, boss)
    press(rig, boss.view, "tab_day")  # the screen kept the week shown before the logout
    rig.until(lambda: getattr(_report(boss), "period", None) == "day", "today")
    boss.view.screen.ids.scroll.scroll_y = 1
    press(rig, boss.view, "report_pdf")
    rig.until(lambda: seen.exists() and seen.read_text("utf-8").strip(), "the PDF handed on")
    path = Path(seen.read_text("utf-8").split()[0])
    assert path.parent == report_folder(boss.tablet.store)
    assert path.read_bytes().startswith(b"%PDF-")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert _pages(path.read_bytes()) == 3, "with the staff page"
    _first_page_not_blank(path)
    rig.until(lambda: boss.view.status_text == "报表已生成，正在打开…", "the status line")
    assert not boss.tablet.failures, list(boss.tablet.failures)
    rig.shot(SHOTS / "tablet-report-pdf.png")
    boss.tablet.logout()
    assert not path.exists(), "the PDF leaves with the staff member"
    assert not list(path.parent.glob("*.pdf"))


def test_lobby_manager_gets_the_pdf_without_staff_pages(rig: Rig) -> None:
    lobby = rig.devices["RPT-LM1"]
    command, seen = _recorder("lm1")
    lobby.tablet.store.save_settings(report_opener=command)
    rig.login("RPT-LM1", "lm1")
    press(rig, lobby.view, "to_board")
    _open_report(rig, lobby)
    press(rig, lobby.view, "report_pdf")
    rig.until(lambda: seen.exists() and seen.read_text("utf-8").strip(), "the PDF handed on")
    path = Path(seen.read_text("utf-8").split()[0])
    assert _pages(path.read_bytes()) == 2, "the hub leaves out the staff page"
    lobby.tablet.logout()
    assert not path.exists()


def test_an_opener_that_cannot_run_says_so_in_chinese(rig: Rig) -> None:
    boss = rig.devices["RPT-BM1"]
    boss.tablet.store.save_settings(report_opener=str(ROOT / "no-such-opener"))
    rig.login("RPT-BM1", "bm1")
    _open_report(rig, boss)
    press(rig, boss.view, "report_pdf")
    failed = "report_pdf: ReportPdfFailed "
    rig.until(lambda: failed in boss.tablet.failures, "the opener's failure")
    rig.until(lambda: boss.view.status_text == "本机无法打开该PDF文件", "the failure said")
    boss.tablet.logout()
    assert not list(report_folder(boss.tablet.store).glob("*.pdf"))
