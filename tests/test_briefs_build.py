"""Unit tests of the brief builder, the kiosk greeting and the redaction policy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from branch_hub.briefs import (
    DEFAULT_HIDDEN,
    BriefError,
    Note,
    RecordError,
    RedactionPolicy,
    UnknownRole,
    aum_band,
    build_brief,
    customer_events,
    family_name,
    greeting,
    salutation,
)
from branch_hub.config import BranchConfig, ConfigError, load_config, parse_config
from sync.synth import SynthOptions, generate

TODAY = date(2026, 3, 10)


@pytest.fixture(scope="module")
def branch(sample_config_path: Path) -> BranchConfig:
    return load_config(sample_config_path)


def record(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "customer_id": "C0000000042",
        "name": "张晓明",
        "gender": "M",
        "birth_date": "1980-06-01",
        "id_number": "110105198006010013",
        "region_code": "110105",
        "cards": [{"pan": "6222020000000000001", "kind": "debit", "expiry": "2901"}],
        "passbooks": [],
        "tier": "wealth",
        "aum": 734_512.66,
        "segments": ["high_net_worth"],
        "leads": [
            {
                "lead_id": "LA",
                "product": "积存金",
                "product_code": "gold",
                "score": "low",
                "talking_points": ["可按月定投"],
                "expires": "2026-04-01",
            },
            {
                "lead_id": "LB",
                "product": "大额存单",
                "product_code": "large_cd",
                "score": "high",
                "talking_points": ["20万元起存"],
                "expires": "2026-03-10",
            },
            {
                "lead_id": "LC",
                "product": "基金定投",
                "product_code": "fund_sip",
                "score": "mid",
                "talking_points": ["每月500元起投"],
                "expires": "2026-03-09",
            },
            {
                "lead_id": "LD",
                "product": "信用卡",
                "product_code": "credit_card",
                "score": "high",
                "talking_points": ["最长56天免息期"],
                "expires": "2026-12-31",
            },
        ],
        "relationship_manager": "RM0001",
        "last_visit": "2026-02-01",
    }
    base.update(over)
    return base


def brief(branch: BranchConfig, role: str, customer: Any = None, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "role": role,
        "visit_id": "V1",
        "today": TODAY,
        "branch": branch,
        "notes": [],
        "claimed_by": None,
        "policy": RedactionPolicy.from_config(branch),
    }
    args.update(kw)
    return build_brief(customer if customer is not None else record(), **args)


def test_wealth_manager_sees_everything(branch: BranchConfig) -> None:
    out = brief(branch, "wealth_manager")
    assert out["walk_in"] is False
    assert out["salutation_zh"] == "张先生"
    assert out["salutation_en"] == "Mr Zhang"
    assert out["masked_name"] == "张**"
    assert out["tier"] == {"code": "wealth", "name_zh": "财富客户", "name_en": "Wealth"}
    assert out["aum_band"] == "50万-100万"
    # Expired LC dropped; LB expires today and stays; high before low, stable among highs.
    assert [lead["lead_id"] for lead in out["leads"]] == ["LB", "LD", "LA"]
    assert out["leads"][0]["talking_points"] == ["20万元起存"]
    assert out["redacted"] == []
    assert set(out) == {
        "visit_id",
        "walk_in",
        "salutation_zh",
        "salutation_en",
        "masked_name",
        "tier",
        "aum_band",
        "leads",
        "do_not_repitch",
        "events",
        "notes",
        "claimed_by",
        "redacted",
        "segments",
        "relationship_manager",
        "risk_assessment",
        "products",
        "benefits",
        "attrition",
    }


def test_teller_gets_no_band_and_no_talking_points(branch: BranchConfig) -> None:
    out = brief(branch, "teller")
    assert out["aum_band"] is None
    assert all(lead["talking_points"] == [] for lead in out["leads"])
    assert [lead["lead_id"] for lead in out["leads"]] == ["LB", "LD", "LA"]
    assert out["redacted"] == [
        "aum_band",
        "talking_points",
        "segments",
        "relationship_manager",
        "risk_assessment",
        "products",
        "non_counter_benefits",
        "attrition",
        "attrition_reason",
    ]
    assert "734" not in json.dumps(out)


@pytest.mark.parametrize(
    ("role", "band"),
    [
        ("lobby_manager", None),
        ("account_manager", None),
        ("wealth_manager", "50万-100万"),
        ("branch_admin", "50万-100万"),
    ],
)
def test_band_by_role(branch: BranchConfig, role: str, band: str | None) -> None:
    assert brief(branch, role)["aum_band"] == band


def test_unknown_role_fails_closed(branch: BranchConfig) -> None:
    with pytest.raises(UnknownRole, match="unknown staff role 'janitor'"):
        brief(branch, "janitor")


def test_walk_in_brief_is_minimal(branch: BranchConfig) -> None:
    note = Note(
        "n1", "V1", "note", "S1", "lobby_manager", datetime(2026, 3, 10, 2, tzinfo=UTC), "要办卡"
    )
    out = build_brief(
        None,
        role="wealth_manager",
        visit_id="V1",
        today=TODAY,
        branch=branch,
        notes=[note],
        claimed_by="S9",
        policy=RedactionPolicy(),
    )
    assert out["walk_in"] is True
    assert out["masked_name"] is None
    assert out["tier"] is None
    assert out["aum_band"] is None
    assert out["leads"] == []
    assert out["events"] == []
    assert out["notes"][0]["text"] == "要办卡"
    assert out["claimed_by"] == "S9"


@pytest.mark.parametrize(
    ("aum", "band"),
    [
        (0, "5万以下"),
        (49_999.99, "5万以下"),
        (50_000, "5万-50万"),
        (499_999, "5万-50万"),
        (500_000, "50万-100万"),
        (1_000_000, "100万-600万"),
        (5_999_999.99, "100万-600万"),
        (6_000_000, "600万以上"),
        (2e9, "600万以上"),
        (-1, None),
        (float("nan"), None),
        ("123", None),
        (None, None),
        (True, None),
    ],
)
def test_aum_bands(aum: Any, band: str | None) -> None:
    assert aum_band(aum, (50_000, 500_000, 1_000_000, 6_000_000)) == band


def test_band_labels_for_odd_edges() -> None:
    assert aum_band(3000, (2500, 125_000)) == "0.25万-12.5万"


@pytest.mark.parametrize(
    ("name", "gender", "zh", "en"),
    [
        ("张晓明", "M", "张先生", "Mr Zhang"),
        ("李娜", "F", "李女士", "Ms Li"),
        ("欧阳雪婷", "F", "欧阳女士", "Ms Ouyang"),
        ("吕伟", "M", "吕先生", "Mr Lyu"),
        ("睢伟", "M", "睢先生", "Mr 睢"),  # not in the pinyin table: Hanzi fallback
        ("Anna Smith", "F", "Smith女士", "Ms Smith"),
        ("王强", None, "尊敬的客户", "Valued customer"),
        ("", "M", "尊敬的客户", "Valued customer"),
    ],
)
def test_salutations(name: str, gender: str | None, zh: str, en: str) -> None:
    assert salutation(name, gender) == (zh, en)


def test_gender_from_id_number_when_missing() -> None:
    # GB 11643: the 17th character is odd for men, even for women.
    assert salutation("王强", None, "110105198006010013") == ("王先生", "Mr Wang")
    assert salutation("王芳", None, "110105198006010021") == ("王女士", "Ms Wang")


def test_family_name_of_two_character_compound_is_single() -> None:
    assert family_name("欧阳") == "欧"  # a two-character name: surname 欧, given name 阳
    assert family_name("司马光") == "司马"


def test_tier_falls_back_to_aum_with_branch_thresholds(branch: BranchConfig) -> None:
    out = brief(branch, "teller", record(tier="platinum", aum=7_000_000))
    assert out["tier"]["code"] == "private"
    out = brief(branch, "teller", record(tier="platinum", aum="x"))
    assert out["tier"]["code"] == "mass"


def test_greeting_has_only_the_kiosk_fields(branch: BranchConfig) -> None:
    g = greeting(record(), branch)
    assert g == {
        "salutation_zh": "张先生",
        "salutation_en": "Mr Zhang",
        "priority": True,
        "tier_zh": "财富客户",
        "tier_en": "Wealth",
    }
    assert greeting(record(tier="mass", aum=10.0), branch)["priority"] is False
    walk_in = greeting(None, branch)
    assert walk_in["priority"] is False
    assert walk_in["tier_zh"] is None


def test_accepts_cache_customer_objects(branch: BranchConfig) -> None:
    from sync.cache import Customer

    rec = record()
    cust = Customer(rec["customer_id"], rec["name"], rec["tier"], 1, rec)
    assert brief(branch, "teller", cust)["salutation_zh"] == "张先生"
    assert greeting(cust, branch)["salutation_en"] == "Mr Zhang"


@pytest.mark.parametrize(
    "bad", [[1, 2], "text", {"name": "张三"}, {"customer_id": "C1", "name": 5}]
)
def test_malformed_records_raise_record_error(branch: BranchConfig, bad: Any) -> None:
    with pytest.raises(RecordError):
        brief(branch, "teller", bad)
    with pytest.raises(RecordError):
        greeting(bad, branch)


def test_malformed_optional_fields_are_ignored(branch: BranchConfig) -> None:
    out = brief(
        branch,
        "wealth_manager",
        record(
            birth_date="1980-13-45",
            last_visit="yesterday",
            region_code=None,
            id_number=7,
            leads=[{"lead_id": 3}, "x", {"lead_id": "L1", "expires": "soon"}, {"lead_id": "L2"}],
        ),
    )
    assert out["events"] == []
    assert [lead["lead_id"] for lead in out["leads"]] == ["L2"]


# ------------------------------------------------------------------ events


def kinds(rec: dict[str, Any], today: date, branch_region: str = "110105") -> list[str]:
    return [e["kind"] for e in customer_events(rec, today, branch_region)]


@pytest.mark.parametrize(
    ("born", "today", "expected"),
    [
        ("1980-03-10", date(2026, 3, 10), "今天生日（3月10日）"),
        ("1980-03-11", date(2026, 3, 10), "明天生日（3月11日）"),
        ("1980-03-17", date(2026, 3, 10), "7天后生日（3月17日）"),
        ("1980-01-03", date(2026, 12, 28), "6天后生日（1月3日）"),
        ("1980-03-02", date(2026, 2, 27), "3天后生日（3月2日）"),
        ("1980-02-29", date(2027, 2, 25), "3天后生日（2月28日）"),
        ("1980-02-29", date(2028, 2, 25), "4天后生日（2月29日）"),
        ("1980-12-31", date(2026, 12, 31), "今天生日（12月31日）"),
    ],
)
def test_birthday_texts(born: str, today: date, expected: str) -> None:
    events = customer_events({"birth_date": born}, today, "110105")
    assert events[0]["kind"] == "birthday"
    assert events[0]["text_zh"] == expected


def test_birthday_outside_window_or_past() -> None:
    assert kinds({"birth_date": "1980-03-18"}, date(2026, 3, 10)) == []
    assert kinds({"birth_date": "1980-03-09"}, date(2026, 3, 10)) == []
    assert kinds({"birth_date": "1980-02-29"}, date(2027, 3, 1)) == []


def test_birthday_english_text() -> None:
    (event,) = customer_events({"birth_date": "1990-01-02"}, date(2025, 12, 31), "110105")
    assert event["text_en"] == "Birthday in 2 days (2 Jan)"


def test_out_of_town_compares_provinces() -> None:
    assert kinds({"region_code": "110108"}, TODAY) == []  # Beijing, another district
    (event,) = customer_events({"region_code": "440304"}, TODAY, "110105")
    assert event == {
        "kind": "out_of_town",
        "text_zh": "外地客户（广东）",
        "text_en": "Out-of-town customer (from Guangdong)",
    }
    # No region_code: the ID number's address code decides.
    assert kinds({"id_number": "310101198001010012"}, TODAY) == ["out_of_town"]


def test_visit_events() -> None:
    assert kinds({"last_visit": None}, TODAY) == ["first_visit"]
    assert kinds({}, TODAY) == []
    assert kinds({"last_visit": "2025-09-11"}, TODAY) == []  # exactly 180 days
    assert kinds({"last_visit": "2025-09-10"}, TODAY) == ["long_absence"]
    (event,) = customer_events({"last_visit": "2025-09-10"}, TODAY, "110105")
    assert "181" in event["text_zh"]
    assert "181 days" in event["text_en"]


def test_synthetic_records_build_for_every_role(branch: BranchConfig) -> None:
    policy = RedactionPolicy.from_config(branch)
    opts = SynthOptions(customers=300, seed=5, as_of=TODAY, region_code="110105")
    seen: set[str] = set()
    for rec in generate(opts):
        for role in DEFAULT_HIDDEN:
            out = build_brief(
                rec,
                role=role,
                visit_id="V",
                today=TODAY,
                branch=branch,
                notes=[],
                claimed_by=None,
                policy=policy,
            )
            seen.update(e["kind"] for e in out["events"])
            text = json.dumps(out, ensure_ascii=False)
            assert rec["id_number"] not in text
            assert rec["name"] not in text
    assert seen == {"birthday", "out_of_town", "long_absence", "first_visit"}


# ------------------------------------------------------------------ notes in briefs


def test_notes_for_another_role_or_day_are_not_shown(branch: BranchConfig) -> None:
    at = datetime(2026, 3, 10, 1, tzinfo=UTC)  # 09:00 in Beijing
    notes = [
        Note("a", "V1", "note", "S1", "lobby_manager", at, "客户赶时间"),
        Note(
            "b",
            "V1",
            "note",
            "S1",
            "lobby_manager",
            at,
            "仅理财经理可见",
            for_role="wealth_manager",
        ),
        Note(
            "c",
            "V1",
            "note",
            "S1",
            "lobby_manager",
            datetime(2026, 3, 9, 15, 59, tzinfo=UTC),
            "昨天",
        ),
        Note(
            "d", "V1", "outcome", "S2", "wealth_manager", at, "", lead_id="LD", outcome="declined"
        ),
    ]
    teller = brief(branch, "teller", notes=notes)
    assert [n["text"] for n in teller["notes"]] == ["客户赶时间", ""]
    wm = brief(branch, "wealth_manager", notes=notes)
    assert [n["text"] for n in wm["notes"]] == ["客户赶时间", "仅理财经理可见", ""]
    assert {lead["lead_id"]: lead.get("outcome") for lead in wm["leads"]}["LD"] == "declined"
    assert wm["notes"][2]["outcome"] == "declined"


# ------------------------------------------------------------------ policy from config


def config_with(branch: BranchConfig, briefs: dict[str, Any]) -> BranchConfig:
    data = branch.model_dump(mode="json")
    data["briefs"] = briefs
    return parse_config(data, "hub.toml")


def test_policy_from_config_overrides_one_role(branch: BranchConfig) -> None:
    cfg = config_with(
        branch,
        {
            "hide": {"teller": ["aum_band", "leads"]},
            "birthday_window_days": 3,
            "aum_band_edges_cny": [100_000, 1_000_000],
        },
    )
    policy = RedactionPolicy.from_config(cfg)
    assert policy.hidden_for("teller") == {"aum_band", "leads"}
    assert policy.hidden_for("lobby_manager") == DEFAULT_HIDDEN["lobby_manager"]
    out = brief(cfg, "teller", policy=policy)
    assert out["leads"] == []
    assert out["redacted"] == ["aum_band", "leads"]
    assert brief(cfg, "wealth_manager", policy=policy)["aum_band"] == "10万-100万"


@pytest.mark.parametrize(
    ("briefs", "message"),
    [
        ({"hide": {"janitor": []}}, "briefs.hide: unknown role 'janitor'"),
        ({"hide": {"teller": ["aum"]}}, "briefs.hide: unknown brief field 'aum'"),
        ({"aum_band_edges_cny": [10, 5]}, "briefs.aum_band_edges_cny: AUM band edges"),
        ({"birthday_window_days": 99}, "briefs.birthday_window_days"),
        ({"colour": "red"}, "briefs.colour: unknown key"),
    ],
)
def test_bad_briefs_config(branch: BranchConfig, briefs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        config_with(branch, briefs)


def test_policy_rejects_unknown_roles_and_fields() -> None:
    with pytest.raises(UnknownRole):
        RedactionPolicy(hidden={"janitor": frozenset()})
    with pytest.raises(BriefError, match="unknown brief field"):
        RedactionPolicy(hidden={"teller": frozenset({"pan"})})
