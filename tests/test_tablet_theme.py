"""The tablet's theme and wording: readable colours, finger-sized targets, Chinese without codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tablet import theme, words
from tablet.state import Arrival


@pytest.mark.parametrize(("text", "background", "where"), theme.TEXT_PAIRS)
def test_every_text_colour_reaches_wcag_aa(
    text: theme.Colour, background: theme.Colour, where: str
) -> None:
    assert theme.contrast_ratio(text, background) >= 4.5, where


def test_the_contrast_formula_matches_wcag() -> None:
    black, white = theme.hex_colour("#000000"), theme.hex_colour("#FFFFFF")
    assert theme.contrast_ratio(black, white) == pytest.approx(21.0)
    assert theme.contrast_ratio(white, white) == pytest.approx(1.0)
    # The old status grey on the old background: the 2.6:1 this theme replaced.
    old_grey, old_bg = (0.55, 0.6, 0.68, 1.0), (0.95, 0.96, 0.98, 1.0)
    assert theme.contrast_ratio(old_grey, old_bg) < 4.5


def test_sizes_respect_the_touch_minimum() -> None:
    assert min(theme.BUTTON_H, theme.ROW_H, theme.HEADER_H) >= theme.TOUCH_MIN == 48


def test_staff_see_titles_and_chinese_not_codes() -> None:
    assert [words.role_title(r) for r in ("lobby_manager", "wealth_manager", "teller")] == [
        "大堂经理",
        "理财经理",
        "柜员",
    ]
    assert words.role_title("account_manager") == "客户经理"
    assert words.role_title("branch_admin") == "网点负责人"
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    visit = Arrival(
        "v1", "A012", "t1", "wealth", "wealth", True, "王先生", now - timedelta(minutes=7), False
    )
    visit.claimed_by = "lm1"
    assert words.row_title(visit) == "A012   王先生  ·  财富客户"
    detail = words.row_detail(visit, now, "lm2")
    assert detail == "理财咨询  ·  已等 7 分钟  ·  同事已认领"
    assert "lm1" not in detail
    assert words.row_detail(visit, now, "lm1").endswith("我已认领")


def test_dates_and_risk_lines_in_chinese() -> None:
    assert words.zh_date("2027-03-01") == "2027年3月1日"
    assert words.risk_text("C3", "2026-01-05", True) == (
        "风险评级 C3  ·  有效期至 2026年1月5日  （已过期，需重新评估）"
    )
    assert words.attrition_text("competitor_offer") == "流失预警：他行产品吸引"
    assert words.attrition_text(None) == "流失预警"
