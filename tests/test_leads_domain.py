"""Lead outcomes' details and the "do not re-pitch" rule, without a hub: checks, store, brief."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.atrest import AtRestCipher
from branch_hub.briefs import (
    BadDeclineReason,
    BadFollowUpDate,
    InvalidEntry,
    Note,
    VisitNotes,
    build_brief,
    check_outcome_detail,
    not_offered,
    recent_declines,
)
from branch_hub.config import load_config
from branch_hub.outbox._store import OutboxError, _clean_payload
from branch_hub.vocabulary import DeclineReason, LeadOutcome
from sync.collector import check_envelope
from sync.export_fields import ExportFieldError, check_card_fields
from sync.synth_history import DECLINE_REASONS

TODAY = date(2026, 3, 10)
AT = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)  # 10:30 in Beijing
ZONE = ZoneInfo("Asia/Shanghai")
SAMPLE = Path(__file__).resolve().parents[1] / "branch_hub" / "sample_branch.toml"


def _record(**extra: Any) -> dict[str, Any]:
    leads: list[dict[str, Any]] = [
        {"lead_id": "LA", "product": "大额存单", "product_code": "large_cd", "score": "mid"},
        {"lead_id": "LB", "product": "稳健理财", "product_code": "wealth_fixed", "score": "high"},
        {"lead_id": "LC", "product": "基金定投", "product_code": "fund_sip", "score": "low"},
    ]
    for lead in leads:
        lead["talking_points"] = ["要点一", "要点二"]
    return {"customer_id": "C0000000001", "name": "王芳", "gender": "F", "leads": leads} | extra


def test_hq_reason_codes_are_the_hubs() -> None:
    assert tuple(DECLINE_REASONS) == tuple(DeclineReason)


@pytest.mark.parametrize(
    ("outcome", "reason", "day", "wanted"),
    [
        ("declined", "rate_unattractive", None, ("rate_unattractive", None)),
        ("follow_up", None, "2026-03-11", (None, "2026-03-11")),
        ("follow_up", None, "2026-06-08", (None, "2026-06-08")),  # 90 days ahead
        ("accepted", None, None, (None, None)),
        ("not_suitable", None, None, (None, None)),
    ],
)
def test_good_details(outcome: str, reason: str | None, day: str | None, wanted: Any) -> None:
    assert check_outcome_detail(outcome, reason, day, TODAY, 90) == wanted


@pytest.mark.parametrize(
    ("outcome", "reason", "day", "error"),
    [
        ("declined", None, None, BadDeclineReason),
        ("declined", "too_expensive", None, BadDeclineReason),
        ("declined", ["other"], None, BadDeclineReason),
        ("accepted", "other", None, BadDeclineReason),
        ("follow_up", None, None, BadFollowUpDate),
        ("follow_up", None, "2026-03-10", BadFollowUpDate),  # today is not a follow-up
        ("follow_up", None, "2026-03-09", BadFollowUpDate),
        ("follow_up", None, "2026-06-09", BadFollowUpDate),  # 91 days ahead
        ("follow_up", None, "2026-02-30", BadFollowUpDate),
        ("follow_up", None, "2026-3-12", BadFollowUpDate),
        ("follow_up", None, "２０２６-03-12", BadFollowUpDate),  # full-width digits
        ("accepted", None, "2026-03-12", BadFollowUpDate),
    ],
)
def test_bad_details_are_refused(
    outcome: str, reason: object, day: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        check_outcome_detail(outcome, reason, day, TODAY, 90)


@settings(max_examples=300, deadline=None)
@given(
    outcome=st.sampled_from(list(LeadOutcome)),
    reason=st.one_of(st.none(), st.text(max_size=40), st.sampled_from(list(DeclineReason))),
    day=st.one_of(st.none(), st.text(max_size=12), st.dates().map(date.isoformat)),
)
def test_any_detail_is_taken_or_refused_as_a_bad_entry(
    outcome: str, reason: str | None, day: str | None
) -> None:
    try:
        got_reason, got_day = check_outcome_detail(outcome, reason, day, TODAY, 30)
    except InvalidEntry:
        return
    assert got_reason is None or got_reason in set(DeclineReason)
    if got_day is not None:
        assert TODAY < date.fromisoformat(got_day) <= TODAY + timedelta(days=30)


def _note(lead_id: str, outcome: str, at: datetime) -> Note:
    return Note("n", "V1", "outcome", "S2", "wealth_manager", at, lead_id=lead_id, outcome=outcome)


def test_declines_from_hq_by_product_and_from_the_branch_by_lead() -> None:
    history = [{"product_code": "large_cd", "declined_on": "2026-02-20", "reason": "no_funds_now"}]
    history.append({"product_code": "fund_sip", "declined_on": "2026-01-01", "reason": "other"})
    record = _record(lead_declines=history)
    notes = [
        _note("LB", "declined", AT - timedelta(days=3)),
        _note("LC", "accepted", AT),  # not a decline
    ]
    declines = recent_declines(record, notes, TODAY, 30, ZONE)
    held = not_offered(record["leads"], declines)
    assert set(held) == {"LA", "LB"}  # fund_sip's decline is older than 30 days
    assert (held["LA"].source, held["LA"].reason) == ("hq", "no_funds_now")
    assert (held["LB"].source, held["LB"].reason, held["LB"].role) == (
        "branch",
        "other",  # a decline stored without a reason reads as "other"
        "wealth_manager",
    )
    assert recent_declines(record, notes, TODAY, 0, ZONE) == []  # 0 days: the rule is off


def test_malformed_hq_history_is_ignored() -> None:
    history: list[Any] = [
        "x",
        {"product_code": "large_cd", "declined_on": "yesterday"},
        {"declined_on": "2026-03-01", "reason": "other"},
        {"product_code": "large_cd", "declined_on": "2026-03-30", "reason": "other"},  # future
        {"product_code": "large_cd", "declined_on": "2026-03-01", "reason": {"x": 1}},
    ]
    declines = recent_declines(_record(lead_declines=history), [], TODAY, 30, ZONE)
    assert [(d.product_code, d.reason) for d in declines] == [("large_cd", "other")]


def test_the_brief_holds_back_declined_leads() -> None:
    branch = load_config(SAMPLE)
    history = [{"product_code": "large_cd", "declined_on": "2026-03-01", "reason": "has_similar"}]
    record = _record(lead_declines=history)
    notes = [_note("LC", "declined", AT)]
    out = build_brief(
        record,
        role="wealth_manager",
        visit_id="V1",
        today=TODAY,
        branch=branch,
        notes=notes,
        history=notes,
    )
    assert [lead["lead_id"] for lead in out["leads"]] == ["LB"]
    held = {lead["lead_id"]: lead for lead in out["do_not_repitch"]}
    assert held["LA"] == {
        "lead_id": "LA",
        "product": "大额存单",
        "product_code": "large_cd",
        "score": "mid",
        "declined_on": "2026-03-01",
        "reason": "has_similar",
        "source": "hq",
        "role": None,
    }
    assert (held["LC"]["source"], held["LC"]["role"]) == ("branch", "wealth_manager")
    assert "talking_points" not in held["LC"]
    teller = build_brief(record, role="teller", visit_id="V1", today=TODAY, branch=branch)
    assert [lead["lead_id"] for lead in teller["do_not_repitch"]] == ["LA"]


def test_the_store_keeps_reason_and_date_sealed(tmp_path: Path) -> None:
    with VisitNotes(tmp_path / "notes.db", AtRestCipher(b"k" * 32)) as notes:
        notes.record_outcome(
            "V1",
            "LA",
            "declined",
            by="S2",
            role="wealth_manager",
            customer_id="C1",
            reason="wants_to_think",
            at=AT - timedelta(days=2),
        )
        notes.record_outcome(
            "V2",
            "LB",
            "follow_up",
            by="S2",
            role="wealth_manager",
            customer_id="C1",
            follow_up_on="2026-03-17",
            at=AT,
        )
        with pytest.raises(InvalidEntry, match="outcome must be one of"):
            notes.record_outcome("V2", "LB", "not_interested", by="S2", role="wealth_manager")
        got = notes.outcomes_since("C1", TODAY - timedelta(days=30))
        assert [(n.lead_id, n.reason, n.follow_up_on) for n in got] == [
            ("LA", "wants_to_think", None),
            ("LB", None, "2026-03-17"),
        ]
        assert notes.outcomes_since("C1", TODAY) == got[1:]
        assert notes.outcomes_since("C2", TODAY - timedelta(days=30)) == []
    blob = (tmp_path / "notes.db").read_bytes()
    assert b"wants_to_think" not in blob
    assert b"2026-03-17" not in blob


def test_hq_records_carry_reason_and_date_and_the_collector_takes_them() -> None:
    payload: dict[str, Any] = {"customer_id": "C1", "lead_id": "L1", "staff_id": "S1"}
    payload["outcome"] = "declined"
    payload |= {"reason": "no_funds_now", "follow_up_on": None, "at": "2026-03-10T10:30:00+08:00"}
    assert _clean_payload("lead_outcome", payload)["reason"] == "no_funds_now"
    with pytest.raises(OutboxError, match="reason must be one of"):
        _clean_payload("lead_outcome", payload | {"reason": "bored"})
    envelope = {
        "v": 1,
        "idempotency_key": "outcome:V1:L1",
        "branch_id": "B001",
        "kind": "lead_outcome",
        "at": "2026-03-10T10:30:00+08:00",
        "business_day": "2026-03-10",
        "payload": payload | {"outcome": "follow_up", "follow_up_on": "2026-03-17"},
    }
    assert check_envelope(envelope, "B001")["payload"]["follow_up_on"] == "2026-03-17"


@pytest.mark.parametrize(
    "history",
    [
        "x",
        [{"product_code": "large_cd", "declined_on": "2026-02-30", "reason": "other"}],
        [{"declined_on": "2026-03-01", "reason": "other"}],
        [{"product_code": "large_cd", "declined_on": "2026-03-01", "reason": "Other!"}],
        [{"product_code": "large_cd", "declined_on": "2026-03-01", "reason": "x", "name": "王"}],
    ],
)
def test_the_export_check_refuses_a_bad_history(history: object) -> None:
    with pytest.raises(ExportFieldError, match="lead_declines"):
        check_card_fields({"lead_declines": history})
