"""The kiosk's screen flow without a window: transitions, timeouts, privacy of what is shown."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.flow import (
    BadAnswer,
    EndSession,
    FetchMenu,
    FetchSession,
    Flow,
    IssueTicket,
    Menu,
    Phase,
    Ticket,
    Timeouts,
)
from kiosk.screens import describe

MENU = {
    "branch": {"id": "B", "name_zh": "示例支行", "name_en": "Example Sub-branch"},
    "services": [
        {
            "code": "cash",
            "name_zh": "现金业务",
            "name_en": "Cash",
            "prefix": "A",
            "waiting": 3,
            "wait_min": [5, 15],
        },
        {
            "code": "wealth",
            "name_zh": "理财咨询",
            "name_en": "Wealth",
            "prefix": "C",
            "waiting": 0,
            "wait_min": [0, 0],
        },
    ],
}
VIP = {
    "session_id": "s1",
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
}


def ticket_answer(problem: str | None = None) -> dict[str, Any]:
    return {
        "ticket": {
            "id": "t1",
            "number": "C007",
            "service": "wealth",
            "service_zh": "理财咨询",
            "service_en": "Wealth",
            "people_ahead": 0,
            "wait_min": [0, 5],
            "qr": "Q:C007",
            "issued_at": "x",
        },
        "print": {"ok": problem is None, "problem": problem},
    }


def ready_flow() -> Flow:
    flow = Flow()
    assert flow.hub_connected() == [FetchMenu(), FetchSession()]
    flow.menu_loaded(Menu.from_wire(MENU))
    assert flow.state.phase is Phase.ATTRACT
    return flow


def test_starts_unavailable_until_the_menu_arrives() -> None:
    flow = Flow()
    assert flow.state.phase is Phase.UNAVAILABLE
    assert "暂停服务" in describe(flow.state).title
    flow.hub_connected()
    assert flow.state.phase is Phase.UNAVAILABLE
    flow.menu_loaded(Menu.from_wire(MENU))
    model = describe(flow.state)
    assert model.phase is Phase.ATTRACT
    assert model.title == "请插入或刷银行卡、存折，或放置身份证"
    assert "现金业务  等候 3 人" in model.lines
    assert model.buttons[0].label == "无卡取号 / Take a ticket without a card"


def test_recognised_vip_flow_to_ticket_and_back() -> None:
    flow = ready_flow()
    flow.message({"kind": "kiosk.card_sensed", "data": {}})
    assert flow.state.phase is Phase.READING
    flow.message({"kind": "kiosk.session", "data": VIP})
    model = describe(flow.state)
    assert model.phase is Phase.GREETING
    assert model.title == "张先生，欢迎光临"
    assert model.subtitle == "您可享受优先服务"
    flow.tick(flow.now + Timeouts().greeting)
    assert flow.state.phase is Phase.MENU
    assert flow.touch("service:wealth") == [IssueTicket("wealth", "s1")]
    assert flow.state.phase is Phase.PRINTING
    flow.ticket_issued(Ticket.from_wire(ticket_answer()))
    model = describe(flow.state)
    assert (model.phase, model.big_number, model.qr, model.notice) == (
        Phase.TICKET,
        "C007",
        "Q:C007",
        "",
    )
    assert model.title == "请取票"
    assert flow.tick(flow.now + Timeouts().ticket) == [EndSession(), FetchMenu()]
    assert flow.state.phase is Phase.ATTRACT
    assert (flow.state.session_id, flow.state.greeting, flow.state.ticket) == (None, None, None)


def test_walk_in_has_no_session_and_no_greeting() -> None:
    flow = ready_flow()
    assert flow.touch("walk_in") == []
    assert flow.state.phase is Phase.MENU
    assert describe(flow.state).title == "请选择您要办理的业务"
    assert flow.touch("service:cash") == [IssueTicket("cash", None)]
    assert flow.touch("service:nope") == []


def test_unknown_service_is_ignored() -> None:
    flow = ready_flow()
    flow.touch("walk_in")
    assert flow.touch("service:nope") == []
    assert flow.state.phase is Phase.MENU


def test_unreadable_card_offers_walk_in() -> None:
    flow = ready_flow()
    flow.session_update({"session_id": "s2", "state": "read_failed", "problem": "card_removed"})
    model = describe(flow.state)
    assert model.phase is Phase.READ_FAILED
    assert model.title == "卡片过早取出"
    assert [b.action for b in model.buttons] == ["walk_in", "cancel"]
    assert flow.touch("walk_in") == [EndSession()]
    assert (flow.state.phase, flow.state.session_id) == (Phase.MENU, None)


def test_printer_problem_keeps_the_number_longer_on_screen() -> None:
    flow = ready_flow()
    flow.touch("walk_in")
    flow.touch("service:wealth")
    flow.ticket_issued(Ticket.from_wire(ticket_answer("paper_out")))
    model = describe(flow.state)
    assert model.big_number == "C007"
    assert "请拍照或咨询大堂经理" in model.notice
    flow.tick(flow.now + Timeouts().ticket + 1)
    assert flow.state.phase is Phase.TICKET
    flow.tick(flow.now + Timeouts().ticket_unprinted)
    assert flow.state.phase is Phase.ATTRACT


def test_hub_lost_mid_flow_then_resumes_the_session() -> None:
    flow = ready_flow()
    flow.session_update(VIP)
    flow.hub_lost()
    assert flow.state.phase is Phase.UNAVAILABLE
    assert flow.state.greeting is None
    assert flow.hub_connected() == [FetchMenu(), FetchSession()]
    flow.menu_loaded(Menu.from_wire(MENU))
    flow.session_update(VIP)
    assert flow.state.phase is Phase.GREETING


def test_ticket_stays_on_screen_when_hub_goes_away() -> None:
    flow = ready_flow()
    flow.touch("walk_in")
    flow.touch("service:cash")
    flow.ticket_issued(Ticket.from_wire(ticket_answer()))
    flow.hub_lost()
    assert flow.state.phase is Phase.TICKET
    flow.tick(flow.now + 60)
    assert flow.state.phase is Phase.UNAVAILABLE


def test_ticket_errors() -> None:
    flow = ready_flow()
    flow.touch("walk_in")
    flow.touch("service:cash")
    flow.ticket_failed("service_closed", unavailable=False)
    assert flow.state.phase is Phase.TICKET_FAILED
    assert describe(flow.state).title == "暂时无法取号"
    flow.touch("done")
    flow.touch("walk_in")
    flow.touch("service:cash")
    flow.ticket_failed("unavailable", unavailable=True)
    assert flow.state.phase is Phase.UNAVAILABLE
    flow.hub_connected()
    flow.menu_loaded(Menu.from_wire(MENU))
    flow.touch("walk_in")
    flow.touch("service:cash")
    flow.tick(flow.now + Timeouts().printing)
    assert (flow.state.phase, flow.state.error_code) == (Phase.TICKET_FAILED, "timeout")


def test_every_customer_screen_times_out_to_attract() -> None:
    timeouts = Timeouts()
    for enter, seconds in [
        (lambda f: f.card_sensed(), timeouts.reading),
        (
            lambda f: f.session_update({"session_id": "s", "state": "read_failed"}),
            timeouts.read_failed,
        ),
        (lambda f: f.touch("walk_in"), timeouts.menu),
    ]:
        flow = ready_flow()
        enter(flow)
        assert flow.state.phase is not Phase.ATTRACT
        flow.tick(flow.now + seconds - 0.1)
        assert flow.state.phase is not Phase.ATTRACT
        flow.tick(flow.now + 0.2)
        assert flow.state.phase is Phase.ATTRACT


def test_touch_restarts_the_menu_timeout() -> None:
    flow = ready_flow()
    flow.touch("walk_in")
    flow.tick(flow.now + 40)
    flow.touch("lang")
    flow.tick(flow.now + 40)
    assert flow.state.phase is Phase.MENU
    assert flow.state.lang == "en"
    assert describe(flow.state).title == "Please choose a service"


def test_english_toggle_and_reset_on_attract() -> None:
    flow = ready_flow()
    flow.touch("lang")
    model = describe(flow.state)
    assert model.header == "Example Sub-branch"
    assert model.lines[0] == "Cash  3 waiting"
    flow.session_update(VIP)
    assert describe(flow.state).title == "Welcome, Mr Zhang"
    flow.touch("continue")
    assert describe(flow.state).subtitle == "Priority service is available to you"
    flow.touch("cancel")
    assert flow.state.lang == "zh"


def test_session_ended_by_hub_and_menu_changes() -> None:
    flow = ready_flow()
    flow.session_update(VIP)
    flow.message({"kind": "kiosk.session_ended", "data": {"session_id": "other"}})
    assert flow.state.phase is Phase.GREETING
    flow.message({"kind": "kiosk.session_ended", "data": {"session_id": "s1"}})
    assert flow.state.phase is Phase.ATTRACT
    assert flow.message({"kind": "kiosk.menu_changed", "data": {}}) == [FetchMenu()]
    assert flow.message({"kind": "device.alert", "data": {}}) == []
    assert flow.message("junk") == []


def test_waiting_counts_refresh_periodically() -> None:
    flow = ready_flow()
    assert flow.tick(flow.now + 1) == []
    assert flow.tick(flow.now + Timeouts().menu_refresh) == [FetchMenu()]


def test_bad_answers_raise_typed_errors() -> None:
    for bad in (None, [], {"services": [{"name_zh": "x"}]}):
        try:
            Menu.from_wire(bad)
        except BadAnswer:
            continue
        raise AssertionError(f"accepted {bad!r}")
    for bad_ticket in ({}, {"ticket": {}}, {"ticket": "A001"}):
        try:
            Ticket.from_wire(bad_ticket)
        except BadAnswer:
            continue
        raise AssertionError(f"accepted {bad_ticket!r}")
    menu = Menu.from_wire({"services": [{"code": "x", "wait_min": "soon"}]})
    assert menu.services[0].wait_min == (0, 0)


DIGITS = re.compile(r"\d{6,}")
INPUTS = st.one_of(
    st.sampled_from(
        [
            ("touch", "walk_in"),
            ("touch", "service:cash"),
            ("touch", "service:wealth"),
            ("touch", "continue"),
            ("touch", "cancel"),
            ("touch", "done"),
            ("touch", "lang"),
            ("sensed", None),
            ("vip", None),
            ("failed", None),
            ("ended", None),
            ("lost", None),
            ("connected", None),
            ("menu", None),
            ("ticket", None),
            ("ticket_unprinted", None),
            ("ticket_failed", None),
        ]
    ),
    st.tuples(st.just("tick"), st.floats(min_value=0, max_value=120)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(INPUTS, max_size=40))
def test_no_sequence_shows_numbers_or_keeps_data_on_attract(steps: list[tuple[str, Any]]) -> None:
    flow = ready_flow()
    # A hostile session object: the kiosk must only ever show the salutation from it.
    leaky = {
        **VIP,
        "greeting": {**VIP["greeting"], "full_name": "张三明", "pan": "6222021234567890123"},
    }
    for kind, arg in steps:
        if kind == "touch":
            flow.touch(arg)
        elif kind == "sensed":
            flow.card_sensed()
        elif kind == "vip":
            flow.session_update(leaky)
        elif kind == "failed":
            flow.session_update(
                {"session_id": "s9", "state": "read_failed", "problem": "reader_fault"}
            )
        elif kind == "ended":
            flow.session_ended("s1")
        elif kind == "lost":
            flow.hub_lost()
        elif kind == "connected":
            flow.hub_connected()
        elif kind == "menu":
            flow.menu_loaded(Menu.from_wire(MENU))
        elif kind == "ticket":
            flow.ticket_issued(Ticket.from_wire(ticket_answer()))
        elif kind == "ticket_unprinted":
            flow.ticket_issued(Ticket.from_wire(ticket_answer("cover_open")))
        elif kind == "ticket_failed":
            flow.ticket_failed("x", unavailable=False)
        else:
            flow.tick(flow.now + arg)
        shown = describe(flow.state).all_text()
        assert "张三明" not in shown
        assert not DIGITS.search(shown)
        if flow.state.phase in (Phase.ATTRACT, Phase.UNAVAILABLE):
            assert flow.state.session_id is None
            assert flow.state.greeting is None
            assert flow.state.ticket is None
            assert "张先生" not in shown
