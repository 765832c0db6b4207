"""The tablet's lead wording in Chinese, and the outcome request it builds (no window)."""

from __future__ import annotations

from datetime import date

import pytest

from branch_hub.client import DeclineReason, LeadOutcome, WireError
from branch_hub.client.models import HeldBackLead, RecordedOutcome
from branch_hub.vocabulary import RECORDABLE_OUTCOMES, Role
from tablet import lead_words
from tablet.leads import outcome_request


def test_bands_reasons_and_buttons_read_in_chinese() -> None:
    assert [lead_words.score_band(s) for s in ("high", "mid", "low")] == ["高", "中", "低"]
    assert {lead_words.reason_name(r) for r in DeclineReason} == {
        "已有同类产品",
        "收益不具吸引力",
        "暂无闲置资金",
        "想再考虑",
        "不认可此类产品",
        "其他原因",
    }
    assert lead_words.reason_name("made_up") == "其他原因"
    assert {o for o, _ in lead_words.OFFERED_OUTCOMES} == RECORDABLE_OUTCOMES
    assert set(lead_words.RECORDED) == set(LeadOutcome)


def test_follow_up_choices_name_their_dates() -> None:
    today = date(2026, 12, 30)
    choices = [lead_words.follow_up_choice(d, today) for d in lead_words.FOLLOW_UP_DAYS]
    assert choices[0] == ("明天 12月31日", "2026-12-31")
    assert choices[-1] == ("两周后 1月13日", "2027-01-13")


def test_recorded_and_held_back_lines_name_roles_not_ids() -> None:
    declined = RecordedOutcome(
        LeadOutcome.DECLINED,
        "w1",
        Role.WEALTH_MANAGER,
        "2026-03-10T02:30:00.000+00:00",
        DeclineReason.NO_FUNDS_NOW,
    )
    mine = lead_words.recorded_line(declined, "w1")
    theirs = lead_words.recorded_line(declined, "lm1")
    assert mine.startswith("已记录：客户婉拒（暂无闲置资金）")
    assert "我" in mine
    assert "理财经理" in theirs
    assert "w1" not in theirs
    follow = RecordedOutcome(
        LeadOutcome.FOLLOW_UP, "w1", Role.WEALTH_MANAGER, "garbled", follow_up_on="2026-03-17"
    )
    assert lead_words.recorded_line(follow, None) == "已记录：约定跟进 3月17日  ·  理财经理"
    hq = HeldBackLead("L1", "大额存单", "large_cd", "mid", "2026-03-01", DeclineReason.OTHER, "hq")
    assert lead_words.held_back_line(hq) == "3月1日 婉拒：其他原因  ·  总行记录"


def test_the_outcome_request_carries_reason_and_date() -> None:
    declined = outcome_request("declined", reason="wants_to_think").to_wire()
    assert (declined["outcome"], declined["reason"]) == ("declined", "wants_to_think")
    later = outcome_request("follow_up", follow_up_on="2026-03-17").to_wire()
    assert later["follow_up_on"] == "2026-03-17"
    assert "reason" not in later
    for bad in ({"outcome": "maybe"}, {"outcome": "declined", "reason": "bored"}):
        with pytest.raises(WireError):
            outcome_request(**bad)
