"""The counter's window-free parts: parked and resumed tickets on the live board, the pickers'
model, the resume request."""

from __future__ import annotations

from typing import Any

import pytest

from branch_hub.client import WireError
from branch_hub.client.models import QueueTargets, ResumeRequest
from tablet.state import LiveBoard, TabletState

_AT = "2026-11-22T09:00:00+00:00"


def _event(seq: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "at": _AT, "data": data}


def _board() -> LiveBoard:
    board = LiveBoard()
    ticket = {"number": "A001", "id": "20261122-A001", "issued_at": _AT, "service": "cash"}
    board.apply(_event(1, "arrival", {"visit_id": "v1", "ticket": ticket}))
    return board


def _updated(seq: int, state: str) -> dict[str, Any]:
    data = {"visit_id": "v1", "ticket_id": "20261122-A001", "state": state, "counter_id": "C1"}
    return _event(seq, "ticket_updated", data)


def test_a_parked_ticket_is_listed_as_parked_and_served_again_when_resumed() -> None:
    board = _board()
    board.apply(_event(2, "called", {"visit_id": "v1", "counter_id": "C1"}))
    assert board.visits["v1"].state == "serving"
    assert board.apply(_updated(3, "parked"))
    assert (board.visits["v1"].state, board.visits["v1"].counter_id) == ("parked", "C1")
    assert board.apply(_updated(4, "called"))
    assert board.visits["v1"].state == "serving"
    assert board.apply(_updated(5, "cancelled"))
    assert board.waiting() == []


def test_an_unknown_state_in_an_update_changes_nothing() -> None:
    board = _board()
    board.apply(_updated(2, "parked"))
    board.apply(_updated(3, "on the moon"))
    assert board.visits["v1"].state == "parked"


def test_the_pickers_read_names_and_logout_forgets_them() -> None:
    wire = {
        "services": [
            {"code": "cash", "name_zh": "现金业务", "name_en": "Cash", "waiting": 2},
            {"code": "wealth", "name_zh": "理财咨询", "name_en": "Wealth", "waiting": 0},
        ],
        "counters": [
            {
                "counter_id": "C1",
                "number": 1,
                "name_zh": "1号窗口",
                "name_en": "Counter 1",
                "services": ["cash"],
                "open": True,
                "serving": False,
            },
            {
                "counter_id": "V1",
                "number": 8,
                "name_zh": "贵宾室",
                "name_en": "VIP room",
                "services": ["wealth", "cash"],
                "open": False,
                "serving": False,
            },
        ],
    }
    targets = QueueTargets.from_wire(wire)
    assert targets.to_wire() == wire
    assert targets.service_name("wealth") == "理财咨询"
    assert targets.service_name("gold") == "gold"
    assert [c.counter_id for c in targets.counters_for("cash")] == ["C1", "V1"]
    with pytest.raises(WireError):
        QueueTargets.from_wire({"services": [], "counters": [{"counter_id": "C1"}]})
    state = TabletState(targets=targets)
    state.clear()
    assert state.targets is None


def test_a_resume_names_its_counter() -> None:
    request = ResumeRequest("C1", "retry-0001")
    assert ResumeRequest.from_wire(request.to_wire()) == request
    with pytest.raises(WireError):
        ResumeRequest(" ")
