"""Property tests: what a brief may never contain, lead order, events around month and year ends."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from branch_common.identifiers import gb11643_check_char, luhn_check_digit
from branch_hub.briefs import (
    DEFAULT_HIDDEN,
    RedactionPolicy,
    build_brief,
    customer_events,
    days_to_birthday,
    greeting,
)
from branch_hub.config import load_config
from sync.synth_tables import GIVEN_F, GIVEN_M, PRODUCTS, REGIONS, SURNAMES

BRANCH = load_config(Path(__file__).parent.parent / "branch_hub" / "sample_branch.toml")
POLICY = RedactionPolicy.from_config(BRANCH)
ROLES = tuple(DEFAULT_HIDDEN)

dates = st.dates(min_value=date(1920, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def customers(draw: st.DrawFn) -> dict[str, Any]:
    gender = draw(st.sampled_from("MF"))
    surname = draw(st.sampled_from([s for s, _ in SURNAMES]))
    pool = GIVEN_M if gender == "M" else GIVEN_F
    name = surname + "".join(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2)))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31)))
    region = draw(st.sampled_from(REGIONS))
    first17 = f"{region}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    body = "622202" + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=12, max_size=12))
    )
    leads = []
    for n, (code, product, points) in enumerate(
        draw(st.lists(st.sampled_from(PRODUCTS), max_size=5, unique_by=lambda p: p[0]))
    ):
        leads.append(
            {
                "lead_id": f"L{n}",
                "product": product,
                "product_code": code,
                "score": draw(st.sampled_from(["high", "mid", "low"])),
                "talking_points": list(points[:2]),
                "expires": (
                    date(2026, 3, 10) + timedelta(days=draw(st.integers(-30, 60)))
                ).isoformat(),
            }
        )
    return {
        "customer_id": "C0000000001",
        "name": name,
        "gender": gender,
        "birth_date": born.isoformat(),
        "id_number": first17 + gb11643_check_char(first17),
        "region_code": region,
        "cards": [{"pan": body + luhn_check_digit(body), "kind": "debit", "expiry": "3001"}],
        "passbooks": [
            {
                "account": "".join(
                    draw(st.lists(st.sampled_from("0123456789"), min_size=17, max_size=17))
                )
            }
        ],
        "phone": "1"
        + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=10, max_size=10))),
        "tier": draw(st.sampled_from(["mass", "basic", "wealth", "private", "unknown"])),
        # 6+ digits: shorter figures occur by chance in dates and day counts of any brief.
        "aum": draw(st.floats(min_value=100_000, max_value=2e9, allow_nan=False)),
        "segments": [],
        "leads": leads,
        "relationship_manager": None,
        "last_visit": draw(st.none() | dates.map(date.isoformat)),
    }


def make(rec: dict[str, Any], role: str, today: date = date(2026, 3, 10)) -> dict[str, Any]:
    return build_brief(
        rec,
        role=role,
        visit_id="V1",
        today=today,
        branch=BRANCH,
        notes=[],
        claimed_by=None,
        policy=POLICY,
    )


@settings(max_examples=300, deadline=None)
@given(customers())
def test_teller_never_sees_aum(rec: dict[str, Any]) -> None:
    out = make(rec, "teller")
    text = json.dumps(out, ensure_ascii=False)
    assert out["aum_band"] is None
    assert "万以" not in text
    assert "万-" not in text
    whole = str(int(rec["aum"]))
    assert whole not in text
    assert f"{rec['aum']}" not in text
    assert f"{rec['aum']:,.2f}" not in text


@settings(max_examples=300, deadline=None)
@given(customers(), st.sampled_from(ROLES), dates)
def test_no_brief_holds_identifiers_or_full_name(
    rec: dict[str, Any], role: str, today: date
) -> None:
    for out in (make(rec, role, today), greeting(rec, BRANCH)):
        text = json.dumps(out, ensure_ascii=False)
        assert rec["id_number"] not in text
        assert rec["cards"][0]["pan"] not in text
        assert rec["name"] not in text
        assert rec["customer_id"] not in text
        assert rec["passbooks"][0]["account"] not in text
        assert rec["phone"] not in text


@settings(max_examples=200, deadline=None)
@given(customers(), st.sampled_from(ROLES))
def test_leads_sorted_by_score_and_unexpired(rec: dict[str, Any], role: str) -> None:
    today = date(2026, 3, 10)
    out = make(rec, role, today)
    order = {"high": 0, "mid": 1, "low": 2}
    ranks = [order[lead["score"]] for lead in out["leads"]]
    assert ranks == sorted(ranks)
    live = {
        lead["lead_id"] for lead in rec["leads"] if date.fromisoformat(lead["expires"]) >= today
    }
    assert {lead["lead_id"] for lead in out["leads"]} == live


def _naive_days(born: date, today: date) -> int:
    """Reference: walk day by day until a date matches the birthday (29 Feb -> 28 Feb)."""
    d = today
    for n in range(367):
        md = (born.month, born.day)
        leap = d.year % 4 == 0 and (d.year % 100 != 0 or d.year % 400 == 0)
        if md == (2, 29) and not leap:
            md = (2, 28)
        if (d.month, d.day) == md:
            return n
        d += timedelta(days=1)
    raise AssertionError("no birthday within a year")


edge_days = st.builds(
    lambda y, md, delta: date(y, *md) + timedelta(days=delta),
    st.integers(1925, 2098),
    st.sampled_from([(1, 1), (2, 28), (3, 1), (12, 31), (6, 30), (2, 1)]),
    st.integers(-8, 8),
)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(dates, st.sampled_from([date(1980, 2, 29), date(2000, 2, 29), date(1996, 12, 31)])),
    st.one_of(dates, edge_days),
)
def test_birthday_matches_day_by_day_reference(born: date, today: date) -> None:
    if born > today:
        assert customer_events({"birth_date": born.isoformat()}, today, "110105") == []
        return
    expected = _naive_days(born, today)
    assert days_to_birthday(born, today) == expected
    kinds = [e["kind"] for e in customer_events({"birth_date": born.isoformat()}, today, "110105")]
    assert ("birthday" in kinds) == (expected <= 7)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(REGIONS), st.sampled_from(REGIONS), edge_days, st.integers(0, 400))
def test_region_and_absence_events(home: str, branch_region: str, today: date, ago: int) -> None:
    last = today - timedelta(days=ago)
    events = customer_events(
        {"region_code": home, "last_visit": last.isoformat()}, today, branch_region
    )
    kinds = [e["kind"] for e in events]
    assert ("out_of_town" in kinds) == (home[:2] != branch_region[:2])
    assert ("long_absence" in kinds) == (ago > 180)
    assert all(e["text_zh"] and e["text_en"] for e in events)


@settings(max_examples=100, deadline=None)
@given(customers())
def test_greeting_has_exactly_the_kiosk_fields(rec: dict[str, Any]) -> None:
    g = greeting(rec, BRANCH)
    assert set(g) == {"salutation_zh", "salutation_en", "priority", "tier_zh", "tier_en"}
    assert g["salutation_zh"][-2:] in {"先生", "女士"}
