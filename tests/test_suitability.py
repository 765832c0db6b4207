"""The suitability rule: product risk R1-R5 against the customer's assessment C1-C5 and its expiry."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branch_common.suitability import (
    CUSTOMER_LEVELS,
    PRODUCT_RISKS,
    Verdict,
    max_product_risk,
    risk_rank,
    suitability,
)

TODAY = date(2026, 12, 3)


def _assessed(level: str, expires: date | str = "2027-06-30") -> dict[str, Any]:
    return {"level": level, "expires": expires if isinstance(expires, str) else expires.isoformat()}


TABLE: list[tuple[str, dict[str, Any] | None, Verdict]] = [
    ("R1", _assessed("C1"), Verdict.SUITABLE),
    ("R2", _assessed("C1"), Verdict.TOO_RISKY),
    ("R3", _assessed("C3"), Verdict.SUITABLE),
    ("R4", _assessed("C3"), Verdict.TOO_RISKY),
    ("R5", _assessed("C5"), Verdict.SUITABLE),
    ("R1", _assessed("C5"), Verdict.SUITABLE),
    ("R3", _assessed("C4", TODAY), Verdict.SUITABLE),  # valid through its expiry day
    ("R3", _assessed("C4", TODAY - timedelta(days=1)), Verdict.ASSESSMENT_EXPIRED),
    ("R5", _assessed("C1", "2020-01-01"), Verdict.ASSESSMENT_EXPIRED),  # expiry is named first
    ("R1", None, Verdict.NO_ASSESSMENT),
    ("R1", {}, Verdict.NO_ASSESSMENT),
    ("R1", {"level": "C6", "expires": "2027-01-01"}, Verdict.NO_ASSESSMENT),
    ("R1", {"level": "C3", "expires": "soon"}, Verdict.NO_ASSESSMENT),
    ("R1", {"level": "C3"}, Verdict.NO_ASSESSMENT),
    ("R6", _assessed("C5"), Verdict.UNKNOWN_PRODUCT_RISK),
    ("", None, Verdict.UNKNOWN_PRODUCT_RISK),
]


@pytest.mark.parametrize(("risk", "assessment", "verdict"), TABLE)
def test_rule_table(risk: str, assessment: dict[str, Any] | None, verdict: Verdict) -> None:
    result = suitability(risk, assessment, TODAY)
    assert result.verdict is verdict
    assert result.suitable is (verdict is Verdict.SUITABLE)
    assert result.message
    assert result.message_zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.message_zh)


def test_reasons_name_the_levels_and_the_date() -> None:
    too_risky = suitability("R4", _assessed("C2"), TODAY)
    assert "R4" in too_risky.message_zh
    assert "谨慎型" in too_risky.message_zh
    expired = suitability("R1", _assessed("C2", "2026-11-30"), TODAY)
    assert "2026-11-30" in expired.message
    assert "2026-11-30" in expired.message_zh
    assert expired.expires == date(2026, 11, 30)
    assert expired.customer_level == "C2"


def test_a_date_object_is_accepted_as_the_expiry() -> None:
    assert suitability("R2", {"level": "C2", "expires": TODAY}, TODAY).suitable


def test_the_usual_mapping() -> None:
    assert [max_product_risk(level) for level in CUSTOMER_LEVELS] == list(PRODUCT_RISKS)
    assert max_product_risk("C0") is None
    assert [risk_rank(risk) for risk in PRODUCT_RISKS] == [1, 2, 3, 4, 5]


@given(
    risk=st.sampled_from(PRODUCT_RISKS),
    level=st.sampled_from(CUSTOMER_LEVELS),
    days=st.integers(min_value=-800, max_value=800),
)
def test_suitable_exactly_when_valid_and_within_level(risk: str, level: str, days: int) -> None:
    expires = TODAY + timedelta(days=days)
    result = suitability(risk, _assessed(level, expires), TODAY)
    within = PRODUCT_RISKS.index(risk) <= CUSTOMER_LEVELS.index(level)
    assert result.suitable is (days >= 0 and within)
    if days < 0:
        assert result.verdict is Verdict.ASSESSMENT_EXPIRED


@given(
    risk=st.text(max_size=4) | st.sampled_from(PRODUCT_RISKS),
    assessment=st.none()
    | st.dictionaries(
        st.sampled_from(["level", "expires", "other"]),
        st.none() | st.text(max_size=12) | st.integers() | st.sampled_from(CUSTOMER_LEVELS),
    ),
)
def test_any_input_gets_a_verdict_and_never_raises(risk: str, assessment: Any) -> None:
    result = suitability(risk, assessment, TODAY)
    assert isinstance(result.verdict, Verdict)
    assert result.message_zh
    if result.suitable:
        assert risk in PRODUCT_RISKS
        assert assessment["level"] in CUSTOMER_LEVELS


@given(level=st.sampled_from(CUSTOMER_LEVELS), risk=st.sampled_from(PRODUCT_RISKS))
def test_a_riskier_product_is_never_more_suitable(level: str, risk: str) -> None:
    """Monotone: if a product suits a customer, every less risky product does too."""
    if suitability(risk, _assessed(level), TODAY).suitable:
        for safer in PRODUCT_RISKS[: PRODUCT_RISKS.index(risk)]:
            assert suitability(safer, _assessed(level), TODAY).suitable
