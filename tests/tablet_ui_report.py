"""The branch report on the tablet under Xvfb against a real hub (run by tests/test_tablet_ui.py).

Customers arrive, a teller calls and finishes one, a wealth manager records a lead outcome; the
branch manager opens today's report from the lobby board and sees the hub's figures and the staff
table, with HQ's confirmed purchases beside the accepted leads; the lobby manager sees the same
report without the staff table; a week tab fetches the week.
"""

from __future__ import annotations

import contextlib
from typing import Any

from branch_hub.client.models import BranchReport
from branch_hub.security.errors import StaffError
from tests.support.tablethub import PIN
from tests.tablet_ui_scenarios import (
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
