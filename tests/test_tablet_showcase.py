"""The compare and presentation screens' wording and the staff gesture, without a window."""

from __future__ import annotations

from datetime import date

import pytest

from tablet.i18n import DEFAULT_LOCALE, EN, use_language
from tablet.product_column import StaffGesture
from tablet.product_facts import facts_of

RECORD = {
    "code": "WM2026A0001",
    "name_zh": "稳健丰利1号",
    "name_en": "Steady Income No. 1",
    "category": "wealth",
    "risk": "R2",
    "term_days": 365,
    "yield_kind": "expected_annual",
    "yield_pct": "3.85",
    "yield_basis_zh": "业绩比较基准（年化），不代表产品未来表现和实际收益",
    "min_amount_yuan": 10000,
    "tiers": ["wealth", "private"],
    "segments": ["high_net_worth"],
    "selling_points_zh": ["1万元起购"],
    "disclaimer_zh": "理财非存款，产品有风险，投资须谨慎。",
    "valid_from": "2026-01-01",
    "valid_to": date(2027, 6, 30).isoformat(),
    "image": None,
    "leaflet": None,
}


def test_a_product_reads_in_chinese_with_zh_cn_money_and_dates() -> None:
    use_language(DEFAULT_LOCALE)
    facts = facts_of(RECORD)
    assert facts.category == "理财产品"
    assert facts.risk == "R2 中低风险"
    assert facts.risk_level == 2
    assert facts.term == "1年"
    assert facts.yield_line == "业绩比较基准（年化）  3.85%"
    assert facts.minimum == "¥10,000.00起"
    assert facts.tiers == "财富客户、私人银行客户"
    assert "2027年6月30日" in facts.valid
    assert facts.disclaimer == RECORD["disclaimer_zh"]


def test_english_on_the_toggle_and_odd_records_still_draw() -> None:
    use_language(EN)
    try:
        facts = facts_of({**RECORD, "term_days": 90, "yield_kind": "none", "yield_pct": None})
        assert (facts.term, facts.yield_line) == ("90 days", "No stated yield")
        bare = facts_of({"code": "XX1", "risk": "R9", "min_amount_yuan": 0})
        assert (bare.name, bare.minimum, bare.risk_level) == ("XX1", "No minimum", 5)
    finally:
        use_language(DEFAULT_LOCALE)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _touch(gesture: StaffGesture, clock: Clock, held_s: float) -> bool:
    gesture.down()
    clock.now += held_s
    done = gesture.up()
    clock.now += 0.2
    return done


@pytest.mark.parametrize(
    ("holds", "done"),
    [
        ([0.1, 0.1, 0.1, 2.0], True),  # three taps then a long press
        ([0.1, 0.1, 2.0], False),  # two taps are not three
        ([0.1, 0.1, 0.1, 0.1, 2.0], False),  # four taps neither
        ([0.1, 0.1, 0.1, 1.0], False),  # the press is not long enough
        ([2.0], False),  # a long press alone
        ([0.1, 0.1, 0.1, 10.0], False),  # too slow overall
    ],
)
def test_the_staff_gesture(holds: list[float], done: bool) -> None:
    clock = Clock()
    gesture = StaffGesture(clock)
    results = [_touch(gesture, clock, held) for held in holds]
    assert results[-1] is done
    assert not any(results[:-1])


def test_a_touch_elsewhere_starts_the_gesture_over() -> None:
    clock = Clock()
    gesture = StaffGesture(clock)
    for _ in range(3):
        _touch(gesture, clock, 0.1)
    gesture.reset()  # what the corner does for a touch outside it
    assert not _touch(gesture, clock, 2.0)
