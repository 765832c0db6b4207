"""The card's customer fields in a brief, per role: a field a role may not see never reaches it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from branch_hub.briefs import DEFAULT_HIDDEN, build_brief
from branch_hub.config import BRIEF_FIELDS, BranchConfig, load_config
from branch_hub.vocabulary import Role
from tests.support.card_record import RECORD

TODAY = date(2026, 3, 10)

NEEDLES: dict[str, tuple[str, ...]] = {
    "aum_band": ("50万-100万",),
    "segments": ("seg_family_office",),
    "relationship_manager": ("RM0777",),
    "risk_assessment": ('"C4"', "2026-03-09"),
    "products": tuple(v[0] for v in RECORD["products"].values()),
    "non_counter_benefits": ("airport_lounge", "concierge"),
    "benefits": ("fee_waiver_transfer", "priority_queue"),
    "attrition": ('"attrition": {',),
    "attrition_reason": ("competitor_offer",),
}
# What each role's card shows by default (docs/briefs.md, "Redaction").
SEES: dict[str, set[str]] = {
    "wealth_manager": set(NEEDLES),
    "branch_admin": set(NEEDLES),
    "account_manager": set(NEEDLES) - {"aum_band", "risk_assessment"},
    "lobby_manager": set(NEEDLES) - {"aum_band", "risk_assessment", "products", "attrition_reason"},
    "teller": {"benefits"},
}


@pytest.fixture(scope="module")
def branch(sample_config_path: Path) -> BranchConfig:
    return load_config(sample_config_path)


def _brief(branch: BranchConfig, role: str, record: dict[str, Any] | None = None) -> Any:
    return build_brief(record or RECORD, role=role, visit_id="v1", today=TODAY, branch=branch)


def test_the_table_covers_every_role_and_card_field() -> None:
    assert set(SEES) == set(Role)
    assert set(NEEDLES) <= set(BRIEF_FIELDS)
    for role, seen in SEES.items():
        assert set(NEEDLES) - seen <= DEFAULT_HIDDEN[role], role


@pytest.mark.parametrize("role", list(Role))
def test_a_role_sees_exactly_its_card_fields(branch: BranchConfig, role: str) -> None:
    text = json.dumps(_brief(branch, role), ensure_ascii=False)
    for name, needles in NEEDLES.items():
        for needle in needles:
            assert (needle in text) == (name in SEES[role]), (role, name, needle)


def test_wealth_manager_card(branch: BranchConfig) -> None:
    out = _brief(branch, "wealth_manager")
    assert out["aum_band"] == "50万-100万"
    assert out["risk_assessment"] == {"level": "C4", "expires": "2026-03-09", "expired": True}
    assert out["products"]["funds"] == ["fund_equity_sip_x"]
    assert out["benefits"] == RECORD["benefits"]
    assert out["attrition"] == {"flag": True, "reason": "competitor_offer"}
    assert out["segments"] == ["seg_family_office"]
    assert out["relationship_manager"] == "RM0777"
    assert "734" not in json.dumps(out)


def test_teller_sees_counter_benefits_only(branch: BranchConfig) -> None:
    out = _brief(branch, "teller")
    assert out["benefits"] == ["fee_waiver_transfer", "priority_queue"]
    assert (out["products"], out["risk_assessment"], out["attrition"]) == (None, None, None)
    assert (out["segments"], out["relationship_manager"], out["aum_band"]) == ([], None, None)


def test_lobby_manager_sees_the_flag_not_the_reason(branch: BranchConfig) -> None:
    out = _brief(branch, "lobby_manager")
    assert out["attrition"] == {"flag": True, "reason": None}
    assert out["relationship_manager"] == "RM0777"
    assert out["benefits"] == RECORD["benefits"]


def test_an_unexpired_assessment_and_an_unflagged_customer(branch: BranchConfig) -> None:
    record = RECORD | {
        "risk_assessment": {"level": "C2", "expires": "2027-01-01"},
        "attrition_risk": {"flag": False, "reason": None},
    }
    out = _brief(branch, "wealth_manager", record)
    assert out["risk_assessment"]["expired"] is False
    assert out["attrition"] == {"flag": False, "reason": None}


def test_an_old_record_without_card_fields_gives_empty_ones(branch: BranchConfig) -> None:
    old = {k: v for k, v in RECORD.items() if k in {"customer_id", "name", "gender", "tier"}}
    out = _brief(branch, "wealth_manager", old)
    assert out["segments"] == out["benefits"] == []
    assert out["risk_assessment"] is out["products"] is out["attrition"] is None


@pytest.mark.parametrize(
    "bad",
    [
        {"risk_assessment": {"level": "C9", "expires": "2027-01-01"}},
        {"risk_assessment": {"level": "C1", "expires": "soon"}},
        {"risk_assessment": "C1"},
        {"products": ["dep"]},
        {"benefits": "airport_lounge"},
        {"attrition_risk": {"flag": "yes"}},
        {"segments": {"a": 1}},
        {"relationship_manager": 7},
    ],
)
def test_a_malformed_cached_field_is_dropped(branch: BranchConfig, bad: dict[str, Any]) -> None:
    out = _brief(branch, "wealth_manager", RECORD | bad)
    name = next(iter(bad))
    shown = {"attrition_risk": "attrition"}.get(name, name)
    assert out[shown] in (None, [], {k: [] for k in RECORD["products"]})


def test_hq_band_is_used_when_the_export_gives_no_figure(branch: BranchConfig) -> None:
    record = {k: v for k, v in RECORD.items() if k != "aum"} | {"aum_band": "100万-600万"}
    assert _brief(branch, "wealth_manager", record)["aum_band"] == "100万-600万"
    assert _brief(branch, "lobby_manager", record)["aum_band"] is None
