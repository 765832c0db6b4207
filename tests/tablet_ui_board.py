"""The lobby board on the tablet under Xvfb against a real hub (run by tests/test_tablet_ui.py).

A branch manager logs in and lands on the board; a priority customer nobody claims past the
(shortened) threshold raises the alert on the board, live; a claim clears it. The lobby manager
reaches the board from the customer list and goes back.
"""

from __future__ import annotations

import contextlib
from typing import Any

from branch_hub.config import LobbySettings
from branch_hub.security.errors import StaffError
from tests.support.tablethub import PIN
from tests.tablet_ui_scenarios import (
    SHOTS,
    Rig,
    check_touch_targets,
    harness,
    press,
    rig,
)

__all__ = ["harness", "rig"]

UNCLAIMED_ALERT_S = 2.0


def _short_thresholds(rig: Rig) -> None:
    """The hub's board alerts after 2 s unclaimed and checks every 0.2 s (the test's config)."""
    hub = rig.hub.hub
    assert hub is not None
    lobby = LobbySettings(unclaimed_alert_s=UNCLAIMED_ALERT_S, check_interval_s=0.2)
    hub.board.config = hub.board.config.model_copy(update={"lobby": lobby})
    with contextlib.suppress(StaffError):
        hub.security.staff.add("bm1", "网点负责人 Branch One", "branch_admin", PIN)


def _board(device: Any) -> Any:
    return device.tablet.state.lobby_board


def _cells(device: Any, box: str) -> list[Any]:
    return list(reversed(device.view.screen.ids[box].children))


def test_branch_manager_sees_the_board_and_an_unclaimed_priority_alert(rig: Rig) -> None:
    _short_thresholds(rig)
    boss = rig.device("TAB-BM1")
    rig.login("TAB-BM1", "bm1")
    assert boss.tablet.screen == "board"
    rig.until(lambda: _board(boss) is not None, "the board fetched")
    check_touch_targets(boss.view)

    customer = rig.vip(1)
    ticket = rig.hub.arrive(customer["cards"][0]["pan"], service="wealth")["ticket"]
    rig.until(
        lambda: any(u.ticket == ticket["number"] for u in _board(boss).unclaimed),
        "the priority customer on the board",
    )
    rig.until(
        lambda: any(
            a.alert == "priority_unclaimed" and ticket["number"] in a.message_zh
            for a in _board(boss).alerts
        ),
        "the unclaimed alert on the board",
    )
    rig.until(
        lambda: any(c.alert and ticket["number"] in c.text for c in _cells(boss, "banners")),
        "the alert banner drawn",
    )
    rig.until(
        lambda: any(c.alert and ticket["number"] in c.text for c in _cells(boss, "unclaimed")),
        "the unclaimed line in the alert colour",
    )
    assert ticket["number"] in boss.view.alert_text  # the frame's alert strip has it too
    assert customer["name"] not in boss.view.alert_text
    assert len(_cells(boss, "counters")) == len(_board(boss).counters)
    rig.shot(SHOTS / "tablet-board.png")

    # The lobby manager opens the board from the list, claims nothing there, goes back.
    lobby = rig.device("TAB-LM2")
    rig.login("TAB-LM2", "lm1")
    assert lobby.tablet.screen == "lobby"
    press(rig, lobby.view, "to_board")
    rig.until(lambda: lobby.view.drawn_screen == "board", "the lobby manager's board")
    rig.until(lambda: _board(lobby) is not None and _board(lobby).alerts, "alerts on it")
    press(rig, lobby.view, "to_lobby")
    rig.until(lambda: lobby.view.drawn_screen == "lobby", "back to the list")

    # Somebody claims the customer: the alert clears on the branch manager's board.
    visit = next(
        v for v in lobby.tablet.state.board.visits.values() if v.ticket == ticket["number"]
    )
    lobby.tablet.claim(visit.visit_id)
    rig.show("TAB-BM1")
    rig.until(
        lambda: not any(a.alert == "priority_unclaimed" for a in _board(boss).alerts),
        "the alert cleared after the claim",
    )
    rig.until(lambda: not _board(boss).unclaimed, "nobody unclaimed")
