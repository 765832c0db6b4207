"""The client's wire models: today's hub JSON round-trips exactly; any other JSON is a WireError."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.briefs import build_brief
from branch_hub.briefs._card import CARD_KEYS
from branch_hub.briefs._model import Note
from branch_hub.client import (
    AlreadyClaimed,
    DeviceRevoked,
    HubRefused,
    KioskSessionExpired,
    NotClaimHolder,
    Refusal,
    Role,
    StaffSessionEnded,
    UnknownVisit,
    WireError,
)
from branch_hub.client import models as m
from branch_hub.client._errors import refused
from branch_hub.config import load_config
from branch_hub.push import PushEvent as HubPushEvent
from branch_hub.vocabulary import REQUEST_ID_MAX_CHARS, LeadOutcome, SessionState
from tests.support.card_record import RECORD

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "branch_hub" / "sample_branch.toml"

KIOSK_TICKET = {
    "id": "20261122-C007",
    "number": "C007",
    "service": "wealth",
    "service_zh": "理财咨询",
    "service_en": "Wealth",
    "people_ahead": 2,
    "wait_min": [5, 12],
    "qr": "branch-edge:B1:20261122-C007",
    "issued_at": "2026-11-22T09:00:00+08:00",
}
STAFF_TICKET = {
    "id": "20261122-C007",
    "number": "C007",
    "service": "wealth",
    "state": "called",
    "counter_id": "C1",
    "issued_at": "2026-11-22T09:00:00+08:00",
    "called_at": "2026-11-22T09:05:00+08:00",
}
NOTE = {"by": "lm1", "role": "lobby_manager", "at": "2026-11-22T09:01:00.000+08:00", "text": "hi"}
# One document per model, in the exact shape today's hub sends (or today's apps send).
EXAMPLES: dict[type[Any], list[dict[str, Any]]] = {
    m.Menu: [
        {
            "branch": {"id": "B1", "name_zh": "示例支行", "name_en": "Example"},
            "services": [
                {
                    "code": "cash",
                    "name_zh": "现金业务",
                    "name_en": "Cash",
                    "prefix": "A",
                    "waiting": 3,
                    "wait_min": [5, 15],
                }
            ],
        }
    ],
    m.KioskSession: [
        {"state": "idle"},
        {
            "session_id": "a1b2c3d4e5f60718",
            "state": "recognised",
            "greeting": {
                "salutation_zh": "张先生",
                "salutation_en": "Mr Zhang",
                "priority": True,
                "tier_zh": "钻石",
                "tier_en": "Diamond",
            },
            "problem": None,
            "expires_in_s": 60,
        },
        {
            "session_id": "a1b2c3d4e5f60718",
            "state": "read_failed",
            "greeting": None,
            "problem": "card_removed",
            "expires_in_s": 0,
        },
    ],
    m.TicketIssued: [
        {"ticket": KIOSK_TICKET, "print": {"ok": True, "problem": None}},
        {"ticket": KIOSK_TICKET, "print": {"ok": False, "problem": "paper_out"}, "replayed": True},
    ],
    m.Ended: [{"ended": True}],
    m.Health: [
        {"status": "ok", "version": "0.1.0", "last_seq": 7},
        {"status": "ok", "version": "0.1.0", "last_seq": 0, "branch_id": "B1", "cache": {"a": 1}},
    ],
    m.ErrorBody: [
        {"error": {"code": "bad_since", "message": "since must be a whole number"}},
        {"error": {"code": "x", "message": "y", "message_zh": "错"}},
    ],
    m.PushEvent: [
        {"type": "event", "seq": 3, "kind": "claimed", "at": "t", "data": {"visit_id": "v"}}
    ],
    m.LoginResult: [
        {
            "token": "tok",
            "staff_id": "lm1",
            "role": "lobby_manager",
            "name": "LM",
            "expires_in_s": 900,
        }
    ],
    m.VisitList: [
        {
            "visits": [
                {
                    "visit_id": "0123456789abcdef",
                    "ticket": STAFF_TICKET,
                    "tier": "wealth",
                    "priority": True,
                    "salutation_zh": "王女士",
                    "claimed_by": None,
                    "arrived_at": "2026-11-22T09:00:00+08:00",
                    "walk_in": False,
                    "location": None,
                    "handoff": None,
                },
                {
                    "visit_id": "0123456789abcdee",
                    "ticket": STAFF_TICKET,
                    "tier": "private",
                    "priority": True,
                    "salutation_zh": "李先生",
                    "claimed_by": "w1",
                    "arrived_at": "2026-11-22T09:01:00+08:00",
                    "walk_in": False,
                    "location": "vip_room",
                    "handoff": {
                        "by": "lm1",
                        "to_staff_id": "w1",
                        "to_role": None,
                        "location": "vip_room",
                        "at": "2026-11-22T09:05:00+08:00",
                        "accepted_by": "w1",
                    },
                },
            ]
        }
    ],
    m.TicketResult: [{"ticket": None}, {"ticket": {**STAFF_TICKET, "visit_id": None}}],
    m.ClaimResult: [{"visit_id": "0123456789abcdef", "claimed_by": "lm1"}],
    m.NoteResult: [
        {"visit_id": "v", "note": {**NOTE, "kind": "note"}},
        {"visit_id": "v", "note": {**NOTE, "kind": "note", "for_role": "teller"}},
        {
            "visit_id": "v",
            "note": {**NOTE, "kind": "handoff", "to_staff_id": None, "to_role": "teller"},
        },
        {
            "visit_id": "v",
            "note": {
                **NOTE,
                "kind": "outcome",
                "lead_id": "L1",
                "outcome": "accepted",
                "reason": None,
                "follow_up_on": None,
            },
        },
        {
            "visit_id": "v",
            "note": {
                **NOTE,
                "kind": "outcome",
                "lead_id": "L1",
                "outcome": "declined",
                "reason": "rate_unattractive",
                "follow_up_on": None,
            },
        },
    ],
    m.HandoffResult: [
        {"visit_id": "v", "by": "lm1", "to_staff_id": None, "to_role": "teller", "location": None},
        {
            "visit_id": "v",
            "by": "lm1",
            "to_staff_id": "w1",
            "to_role": None,
            "location": "vip_room",
        },
    ],
    m.StaffDirectory: [
        {"staff": []},
        {"staff": [{"staff_id": "w1", "name": "王芳", "role": "wealth_manager", "on_duty": True}]},
    ],
    m.HandoffAccepted: [
        {"visit_id": "v", "accepted_by": "w1", "by": "lm1", "location": "vip_room"},
        {"visit_id": "v", "accepted_by": "w1", "by": "lm1", "location": None},
    ],
    m.ManagerAlerts: [
        {"alerts": []},
        {
            "alerts": [
                {"visit_id": "v", "ticket": "V001", "salutation_zh": "王女士", "at": "2026-11-22"}
            ]
        },
    ],
    m.AlertDismissed: [{"visit_id": "v", "dismissed": True}],
    m.OutcomeResult: [
        {
            "visit_id": "v",
            "lead_id": "L1",
            "outcome": "follow_up",
            "by": "w1",
            "reason": None,
            "follow_up_on": "2026-11-29",
        },
        {
            "visit_id": "v",
            "lead_id": "L1",
            "outcome": "declined",
            "by": "w1",
            "reason": "no_funds_now",
            "follow_up_on": None,
        },
    ],
    m.Dashboard: [
        {
            "at": "2026-11-22T09:00:00+08:00",
            "day": "2026-11-22",
            "services": [
                {
                    "service": "cash",
                    "waiting_priority": 0,
                    "waiting_ordinary": 2,
                    "longest_wait_min": 3.5,
                    "median_service_min": 4,
                    "p80_service_min": 6.0,
                }
            ],
            "counters": [
                {
                    "counter_id": "C1",
                    "number": 1,
                    "open": True,
                    "current": STAFF_TICKET,
                    "reserved_waiting": 0,
                }
            ],
            "current_calls": [STAFF_TICKET],
            "parked": 0,
            "longest_wait_min": 3.5,
            "waiting": {"cash": 2, "wealth": 0},
        }
    ],
    m.LobbyBoard: [
        {
            "at": "2026-11-22T09:00:00+08:00",
            "waiting": {"cash": 2, "wealth": 1},
            "priority_waiting": {"cash": 0, "wealth": 1},
            "tiers": [
                {
                    "tier": "wealth",
                    "waiting": 1,
                    "longest_wait_s": 700.5,
                    "longest_ticket": "W001",
                    "target_s": 600.0,
                    "over_target": 1,
                },
                {
                    "tier": "walk_in",
                    "waiting": 2,
                    "longest_wait_s": 0.0,
                    "longest_ticket": None,
                    "target_s": 1200.0,
                    "over_target": 0,
                },
            ],
            "unclaimed": [
                {
                    "visit_id": "0123456789abcdef",
                    "ticket": "W001",
                    "tier": "wealth",
                    "waited_s": 700.5,
                    "alert": True,
                }
            ],
            "unclaimed_alert_s": 120.0,
            "counters": [
                {"counter_id": "C1", "number": 1, "open": True, "idle": False, "serving": "A001"},
                {"counter_id": "C2", "number": 2, "open": False, "idle": False, "serving": None},
            ],
            "counters_open": 1,
            "counters_idle": 0,
            "devices": [{"station": "K1", "device": "printer", "condition": "paper_low"}],
            "cache": {"age_s": 3600.5, "stale": False, "sequence": 3},
            "hq": {
                "link": "up",
                "pending": 0,
                "oldest_pending_at": None,
                "last_sent_at": "2026-11-22T08:59:00.000+08:00",
            },
            "alerts": [
                {
                    "alert": "priority_unclaimed",
                    "key": "priority_unclaimed:20261122-W001",
                    "message": "Priority customer W001 (Wealth) unclaimed for over 2 min.",
                    "message_zh": "贵宾 W001（财富客户）已等候超过2分钟，尚无人接待。",
                }
            ],
        },
        {
            "at": "2026-11-22T09:00:00+08:00",
            "waiting": {},
            "priority_waiting": {},
            "tiers": [],
            "unclaimed": [],
            "unclaimed_alert_s": 30,
            "counters": [],
            "counters_open": 0,
            "counters_idle": 0,
            "devices": [],
            "cache": {"age_s": None, "stale": True, "sequence": 0},
            "hq": {"link": "off", "pending": 0, "oldest_pending_at": None, "last_sent_at": None},
            "alerts": [],
        },
    ],
    m.AppOffer: [
        {
            "app": "kiosk",
            "version": "1.2",
            "channel": "stable",
            "min_hub_version": "0.1",
            "files": ["manifest.json", "manifest.sig", "a.whl"],
            "hub_version": "0.1.0",
        }
    ],
    m.TicketRequest: [
        {"service": "cash", "session_id": None, "request_id": "abc123"},
        {"service": "cash", "session_id": "s1", "request_id": "a-b_c"},
    ],
    m.LoginRequest: [{"staff_id": "lm1", "pin": "246810"}],
    m.NoteRequest: [
        {"text": "hello", "request_id": "r1"},
        {"text": "hello", "for_role": "teller", "request_id": "r1"},
    ],
    m.HandoffRequest: [
        {"to_role": "wealth_manager", "note": "maturing", "request_id": "r2"},
        {"to_staff_id": "w1", "request_id": "r2"},
        {"to_staff_id": "w1", "location": "vip_room", "request_id": "r2"},
    ],
    m.LeadOutcomeRequest: [
        {"outcome": "declined", "request_id": "r3"},
        {"outcome": "accepted", "note": "yes", "request_id": "r3"},
    ],
    m.TransferRequest: [
        {"service": "wealth", "request_id": "r4"},
        {"counter": "C2", "request_id": "r4"},
    ],
    m.CommandRequest: [{"request_id": "r5"}],
    m.VisitTimeline: [
        {
            "visit_id": "a1b2c3d4e5f6a7b8",
            "visits": [
                {
                    "visit_id": "a1b2c3d4e5f6a7b8",
                    "day": "2026-03-10",
                    "current": True,
                    "ticket": "V003",
                    "entries": [
                        {
                            "at": "2026-03-10T10:05:00+08:00",
                            "kind": "outcome",
                            "by": "S2",
                            "name": "王芳",
                            "role": "wealth_manager",
                            "text": "下月再谈",
                            "for_role": None,
                            "to_name": None,
                            "to_role": None,
                            "lead_id": "L1",
                            "product": "养老理财",
                            "outcome": "follow_up",
                            "counter_number": None,
                        },
                        {
                            "at": "2026-03-10T10:01:00+08:00",
                            "kind": "called",
                            "by": None,
                            "name": None,
                            "role": None,
                            "text": "",
                            "for_role": None,
                            "to_name": None,
                            "to_role": None,
                            "lead_id": None,
                            "product": None,
                            "outcome": None,
                            "counter_number": 3,
                        },
                    ],
                },
                {
                    "visit_id": "0a1b2c3d4e5f6a7b",
                    "day": "2026-02-01",
                    "current": False,
                    "ticket": None,
                    "entries": [],
                },
            ],
        }
    ],
    m.ReportRequest: [{"event": "installed", "version": "1.2", "reason": "", "detail": ""}],
}
MODELS = sorted(EXAMPLES, key=lambda cls: cls.__name__)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_todays_json_round_trips_exactly(cls: type[Any]) -> None:
    for doc in EXAMPLES[cls]:
        model = cls.from_wire(doc)
        assert model.to_wire() == doc
        assert json.loads(json.dumps(model.to_wire())) == doc  # plain JSON, enums as words
        assert cls.from_wire(model.to_wire()) == model


def _paths(node: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document: the keys and indexes leading to each value."""
    out: list[tuple[Any, ...]] = []
    children = (
        list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if isinstance(node, list) else []
    )  # fmt: skip
    for key, child in children:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _mutations(draw: st.DrawFn) -> tuple[type[Any], object]:
    """A known-good document with one value (at any depth) replaced or dropped, or kept as is."""
    cls = draw(st.sampled_from(MODELS))
    doc = json.loads(json.dumps(draw(st.sampled_from(EXAMPLES[cls]))))
    paths = _paths(doc)
    if not paths or draw(st.integers(0, 9)) == 0:
        return cls, doc
    *parents, last = draw(st.sampled_from(paths))
    node: Any = doc
    for key in parents:
        node = node[key]
    if isinstance(node, dict) and draw(st.booleans()):
        del node[last]
    else:
        node[last] = draw(JSON)
    return cls, doc


@settings(max_examples=600, deadline=None)
@given(st.composite(_mutations)())
def test_from_wire_raises_only_wire_error_and_round_trips(case: tuple[type[Any], object]) -> None:
    cls, doc = case
    try:
        model = cls.from_wire(doc)
    except WireError:
        return
    assert cls.from_wire(model.to_wire()) == model
    json.dumps(model.to_wire())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MODELS), JSON)
def test_arbitrary_json_is_a_wire_error_or_a_model(cls: type[Any], doc: object) -> None:
    try:
        model = cls.from_wire(doc)
    except WireError:
        return
    assert cls.from_wire(model.to_wire()) == model


@given(st.text(max_size=80))
def test_request_ids_are_short_safe_words(text: str) -> None:
    ok = 0 < len(text) <= REQUEST_ID_MAX_CHARS and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in text
    )
    try:
        m.CommandRequest(text)
    except WireError:
        assert not ok
    else:
        assert ok


def test_requests_check_themselves_and_make_one_id_per_action() -> None:
    first, second = m.CommandRequest(), m.CommandRequest()
    assert first.request_id != second.request_id
    assert m.TicketRequest("cash").to_wire()["request_id"]
    for bad in (
        lambda: m.NoteRequest("   "),
        lambda: m.NoteRequest("x" * 1001),
        lambda: m.HandoffRequest(),
        lambda: m.HandoffRequest(to_staff_id="w1", to_role=Role.TELLER),
        lambda: m.TransferRequest(),
        lambda: m.TicketRequest("cash", request_id="no spaces"),
        lambda: m.TicketRequest("cash", request_id=""),
        lambda: m.LoginRequest("lm1", ""),
    ):
        with pytest.raises(WireError):
            bad()
    assert "246810" not in repr(m.LoginRequest("lm1", "246810"))
    login = m.LoginResult.from_wire(EXAMPLES[m.LoginResult][0])
    assert "tok" not in repr(login)
    assert login.role is Role.LOBBY_MANAGER
    outcome = m.LeadOutcomeRequest.from_wire({"outcome": "accepted", "request_id": "r"})
    assert outcome.outcome is LeadOutcome.ACCEPTED


def test_enums_and_nested_models_are_typed() -> None:
    session = m.KioskSession.from_wire(EXAMPLES[m.KioskSession][1])
    assert session.state is SessionState.RECOGNISED
    assert session.greeting is not None
    assert session.greeting.priority
    issued = m.TicketIssued.from_wire(EXAMPLES[m.TicketIssued][1])
    assert (issued.replayed, issued.printed.problem, issued.ticket.wait_min) == (
        True,
        "paper_out",
        (5, 12),
    )
    with pytest.raises(WireError, match="kind"):
        m.PushEvent.from_wire({"seq": 1, "kind": "no_such_kind", "data": {}})
    with pytest.raises(WireError, match="whole number"):
        m.PushEvent.from_wire({"seq": True, "kind": "claimed", "data": {}})


def test_hub_functions_output_parses_back_unchanged() -> None:
    config = load_config(SAMPLE)
    note = Note("n1", "0123456789abcdef", "note", "lm1", "lobby_manager", datetime.now(UTC), "hi")
    for role in Role:
        brief = build_brief(
            None,
            role=role,
            visit_id="0123456789abcdef",
            today=date.today(),
            branch=config,
            notes=[note],
            claimed_by="lm1",
        )
        assert m.Brief.from_wire(brief).to_wire() == brief
    event = HubPushEvent(4, "arrival", "2026-11-22T09:00:00+00:00", {"visit_id": "v"}).to_wire()
    assert m.PushEvent.from_wire(event).to_wire() == event


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (409, "session_expired", KioskSessionExpired),
        (401, "login_required", StaffSessionEnded),
        (401, "session_invalid", StaffSessionEnded),
        (403, "device_revoked", DeviceRevoked),
        (409, "already_claimed", AlreadyClaimed),
        (409, "not_claim_holder", NotClaimHolder),
        (404, "unknown_visit", UnknownVisit),
        (400, "bad_note", HubRefused),
    ],
)
def test_refusals_have_types_the_apps_react_to(status: int, code: str, cls: type[Any]) -> None:
    exc = refused(status, code, "why", "为什么")
    assert type(exc) is cls
    assert (exc.status, exc.code, exc.message, exc.message_zh) == (status, code, "why", "为什么")
    assert exc.refusal == (None if code == "bad_note" else Refusal(code))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _allowed_for_apps(name: str) -> bool:
    top = name.split(".")[0]
    if top in ("drivers", "sync", "branch_common"):
        return False
    if top == "branch_hub":
        return name in ("branch_hub.client", "branch_hub.vocabulary") or name.startswith(
            "branch_hub.client."
        )
    return True


def test_apps_import_only_the_client() -> None:
    wrong = {
        f"{path.relative_to(REPO)}: {name}"
        for folder in ("kiosk", "tablet")
        for path in (REPO / folder).rglob("*.py")
        for name in _imports(path)
        if not _allowed_for_apps(name)
    }
    assert wrong == set()


def test_the_client_loads_nothing_else_of_the_hub() -> None:
    code = (
        "import sys, branch_hub.client, branch_hub.client.models, branch_hub.client.updater, "
        "branch_hub.client.discovery, branch_hub.client.fonts, branch_hub.client.enrolment, "
        "kiosk.flow, kiosk.link, tablet.controller, tablet.state, tablet.enrolment\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('branch_hub', 'drivers', 'sync')])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO,
    )
    loaded: list[str] = ast.literal_eval(done.stdout.strip())
    outside = [
        name
        for name in loaded
        if name not in ("branch_hub", "branch_hub.vocabulary", "branch_hub.client")
        and not name.startswith("branch_hub.client.")
    ]
    assert outside == []


def test_brief_card_fields_are_typed_and_an_older_hub_body_still_parses() -> None:
    config = load_config(SAMPLE)
    for role in Role:
        brief = build_brief(
            RECORD, role=role, visit_id="0123456789abcdef", today=date(2026, 3, 10), branch=config
        )
        parsed = m.Brief.from_wire(brief)
        assert parsed.to_wire() == brief
        if role == Role.WEALTH_MANAGER:
            assert parsed.risk_assessment == m.BriefRisk("C4", "2026-03-09", expired=True)
            assert parsed.products is not None
            assert parsed.products.loans == ("loan_mortgage_bj",)
            assert parsed.attrition == m.BriefAttrition(flag=True, reason="competitor_offer")
    older = {k: v for k, v in brief.items() if k not in CARD_KEYS}
    parsed = m.Brief.from_wire(older)
    assert (parsed.segments, parsed.benefits, parsed.products, parsed.attrition) == (
        (),
        (),
        None,
        None,
    )
    assert m.BriefProducts.from_wire({"funds": ["f1"]}) == m.BriefProducts(funds=("f1",))
    with pytest.raises(WireError, match=r"risk_assessment\.expired"):
        m.Brief.from_wire(older | {"risk_assessment": {"level": "C1", "expires": "2027-01-01"}})
    with pytest.raises(WireError, match=r"products\.funds"):
        m.Brief.from_wire(older | {"products": {"funds": "f1"}})
