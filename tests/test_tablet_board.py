"""The lobby board's lines on the tablet: Chinese, flagged in the alert colour, waits moved on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from branch_hub.client.models import LobbyBoard
from tablet.board_words import board_text, span
from tablet.i18n import use_language
from tablet.state import TabletState, screen_for

AT = "2026-11-22T09:00:00+08:00"


def _board(**changes: Any) -> LobbyBoard:
    wire: dict[str, Any] = {
        "at": AT,
        "waiting": {"cash": 2, "wealth": 1},
        "priority_waiting": {"cash": 0, "wealth": 1},
        "tiers": [
            {
                "tier": "wealth",
                "waiting": 1,
                "longest_wait_s": 590.0,
                "longest_ticket": "W001",
                "target_s": 600.0,
                "over_target": 0,
            },
            {
                "tier": "walk_in",
                "waiting": 2,
                "longest_wait_s": 1300.0,
                "longest_ticket": "A002",
                "target_s": 1200.0,
                "over_target": 1,
            },
        ],
        "unclaimed": [
            {
                "visit_id": "0123456789abcdef",
                "ticket": "W001",
                "tier": "wealth",
                "waited_s": 590.0,
                "alert": True,
            }
        ],
        "unclaimed_alert_s": 120.0,
        "counters": [
            {"counter_id": "C1", "number": 1, "open": True, "idle": False, "serving": "A001"},
            {"counter_id": "C2", "number": 2, "open": True, "idle": True, "serving": None},
            {"counter_id": "C3", "number": 3, "open": False, "idle": False, "serving": None},
        ],
        "counters_open": 2,
        "counters_idle": 1,
        "devices": [{"station": "K1", "device": "printer", "condition": "paper_low"}],
        "cache": {"age_s": 7380.0, "stale": False, "sequence": 3},
        "hq": {"link": "down", "pending": 4, "oldest_pending_at": None, "last_sent_at": None},
        "alerts": [],
    }
    return LobbyBoard.from_wire(wire | changes)


@pytest.fixture(autouse=True)
def chinese() -> Iterator[None]:
    use_language("zh_CN")
    yield
    use_language("zh_CN")


def test_the_board_reads_in_chinese_with_late_lines_flagged() -> None:
    text = board_text(_board(), datetime.fromisoformat(AT))
    assert text.summary == "等候 3 位    开放窗口 2 个，空闲 1 个"
    assert [line.text for line in text.services] == [
        "现金业务：等候 2 位",
        "理财咨询：等候 1 位（其中贵宾 1 位）",
    ]
    wealth, walk_ins = text.tiers
    assert wealth.text == "财富客户：等候 1 位，最长 9分钟（目标 10分钟）"
    assert not wealth.alert
    assert walk_ins.alert
    assert walk_ins.text.startswith("未识别客户：等候 2 位，最长 21分钟")
    assert text.unclaimed[0].alert
    assert text.unclaimed[0].text == "W001  财富客户  已等 9分钟，尚无人接待"
    assert [c.text for c in text.counters] == [
        "1 号窗口：正在办理 A001",
        "2 号窗口：空闲",
        "3 号窗口：未开放",
    ]
    assert text.devices[0].text == "K1 取号打印机：纸将用完"
    failed = _board(
        devices=[{"station": "K2", "device": "printer", "condition": "print_failed:paper_out"}]
    )
    assert (
        board_text(failed, datetime.fromisoformat(AT)).devices[0].text
        == "K2 取号打印机：出票失败（缺纸）"
    )
    assert text.links == "客户资料：2小时3分钟前更新    总行连接：中断，待发送 4 条"
    assert text.links_alert


def test_waits_move_on_between_fetches_and_pass_the_target() -> None:
    later = datetime.fromisoformat(AT) + timedelta(seconds=30)
    wealth = board_text(_board(), later).tiers[0]
    assert wealth.alert  # 590 s at the hub's read, 620 s now: past the 600 s target
    assert "最长 10分钟" in wealth.text


def test_an_empty_board_says_everyone_is_looked_after() -> None:
    board = _board(unclaimed=[], devices=[], cache={"age_s": None, "stale": True, "sequence": 0})
    text = board_text(board, datetime.fromisoformat(AT))
    assert text.unclaimed[0].text == "贵宾客户均已有人接待"
    assert not text.unclaimed[0].alert
    assert text.devices[0].text == "自助终端设备均正常"
    assert text.links.startswith("客户资料：尚未下载（已过期）")


def test_english_when_toggled() -> None:
    use_language("en")
    text = board_text(_board(), datetime.fromisoformat(AT))
    assert text.summary == "3 waiting    Counters open 2, idle 1"
    assert span(45) == "under a minute"


def test_the_branch_manager_starts_on_the_board_and_a_logout_forgets_it() -> None:
    assert screen_for("branch_admin") == "board"
    state = TabletState()
    state.lobby_board = _board()
    state.clear()
    assert state.lobby_board is None
