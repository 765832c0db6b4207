"""The tablet's hand-off memory and words, without a window: offers, acceptances, alerts, places."""

from __future__ import annotations

from typing import Any

from branch_hub.client import CustomerLocation, EventKind, Role
from branch_hub.client.models import StaffMember, VisitList
from tablet.handoff_state import HandoffMemory, VisitHandover
from tablet.handoff_words import handover_text, offer_text, place_text
from tablet.state import Arrival, StaffSession, TabletState

TICKET = {
    "id": "20261122-V001",
    "number": "V001",
    "service": "wealth",
    "state": "waiting",
    "counter_id": None,
    "issued_at": "2026-11-22T09:00:00+08:00",
    "called_at": None,
}
COLLEAGUES = {
    "lm1": StaffMember("lm1", "张敏", Role.LOBBY_MANAGER, True),
    "RM0007": StaffMember("RM0007", "王芳", Role.WEALTH_MANAGER, True),
}


def _event(seq: int, kind: EventKind, **data: Any) -> dict[str, Any]:
    return {"type": "event", "seq": seq, "kind": kind, "at": "2026-11-22T09:00:00Z", "data": data}


def _state(staff_id: str = "RM0007", role: str = "wealth_manager") -> TabletState:
    state = TabletState()
    state.session = StaffSession(staff_id, role, "王芳", "-")
    arrival = {"visit_id": "v1", "ticket": TICKET, "salutation_zh": "李先生", "priority": True}
    assert state.on_event(_event(1, EventKind.ARRIVAL, **arrival))
    return state


def test_a_handoff_to_me_is_an_offer_until_accepted() -> None:
    state = _state()
    handoff = {"visit_id": "v1", "by": "lm1", "to_staff_id": "RM0007", "to_role": None}
    state.on_event(_event(2, EventKind.HANDOFF, **handoff, location="vip_room"))
    offer = state.handoffs.offers["v1"]
    assert (offer.by, offer.location) == ("lm1", "vip_room")
    text = offer_text(offer, COLLEAGUES, state.board.visits["v1"], "想咨询理财")
    assert text == "张敏（大堂经理）将李先生 V001转交给您  ·  已引导至贵宾室  ·  留言：想咨询理财"
    accepted = {"visit_id": "v1", "accepted_by": "RM0007", "by": "lm1", "location": "vip_room"}
    state.on_event(_event(3, EventKind.HANDOFF_ACCEPTED, **accepted))
    assert not state.handoffs.offers
    assert state.handoffs.handovers["v1"].accepted_by == "RM0007"


def test_a_handoff_to_someone_else_is_no_offer_and_the_giver_sees_who_accepted() -> None:
    state = _state("lm1", "lobby_manager")
    handoff = {"visit_id": "v1", "by": "lm1", "to_staff_id": "RM0007", "to_role": None}
    state.on_event(_event(2, EventKind.HANDOFF, **handoff, location="vip_room"))
    assert not state.handoffs.offers
    given = state.handoffs.handovers["v1"]
    assert handover_text(given, COLLEAGUES) == "已转交王芳（理财经理）"
    state.on_event(_event(3, EventKind.HANDOFF_ACCEPTED, visit_id="v1", accepted_by="RM0007"))
    given = state.handoffs.handovers["v1"]
    assert handover_text(given, COLLEAGUES) == "王芳（理财经理）已接手"
    assert handover_text(given, {}) == "同事已接手", "never a staff id"


def test_the_customer_follows_the_queue_before_the_place() -> None:
    visit = Arrival("v1", "V001", None, "wealth", "wealth", True, "李先生", None, False)
    vip = VisitHandover("lm1", "RM0007", None, CustomerLocation.VIP_ROOM)
    assert place_text(visit, None) == "等候中"
    assert place_text(visit, vip) == "在贵宾室"
    visit.state, visit.counter_id = "serving", "3"
    assert place_text(visit, vip) == "在3号窗口"
    visit.state = "done"
    assert place_text(visit, vip) == "已办结"


def test_my_customers_arrival_alert_goes_when_the_visit_ends_and_with_the_session() -> None:
    state = _state()
    alert = {"visit_id": "v1", "staff_id": "RM0007", "ticket": "V001", "salutation_zh": "李先生"}
    state.on_event(_event(2, EventKind.MANAGER_ALERT, **alert))
    others = {**alert, "visit_id": "v2", "staff_id": "RM0008"}
    state.on_event(_event(3, EventKind.MANAGER_ALERT, **others))
    assert list(state.handoffs.alerts) == ["v1"]
    finished = {"visit_id": "v1", "ticket": "V001", "state": "finished"}
    state.on_event(_event(4, EventKind.FINISHED, **finished))
    assert not state.handoffs.alerts
    state.on_event(_event(5, EventKind.MANAGER_ALERT, **{**alert, "visit_id": "v3"}))
    state.handoffs.colleagues = dict(COLLEAGUES)
    state.clear()
    assert not state.handoffs.alerts
    assert not state.handoffs.colleagues


def test_a_snapshot_brings_back_open_offers_and_accepted_handoffs() -> None:
    handoff: dict[str, Any] = {
        "by": "lm1",
        "to_staff_id": None,
        "to_role": "wealth_manager",
        "location": "vip_room",
        "at": "2026-11-22T09:05:00+08:00",
        "accepted_by": None,
    }
    row: dict[str, Any] = {
        "visit_id": "v1",
        "ticket": TICKET,
        "tier": "wealth",
        "priority": True,
        "salutation_zh": "李先生",
        "claimed_by": None,
        "arrived_at": "2026-11-22T09:00:00+08:00",
        "walk_in": False,
        "location": "vip_room",
        "handoff": handoff,
    }
    taken = {**row, "visit_id": "v2", "handoff": {**handoff, "accepted_by": "w1"}}
    rows = VisitList.from_wire({"visits": [row, taken]}).visits
    memory = HandoffMemory()
    memory.load(rows, "RM0007", "wealth_manager")
    assert list(memory.offers) == ["v1"]
    assert memory.handovers["v2"].accepted_by == "w1"
    memory.load(rows, "t1", "teller")
    assert not memory.offers
