"""A walk-in identifies to the lobby manager's tablet, under Xvfb against a real hub.

The lobby manager opens a walk-in's brief and its "识别客户" sheet: a well-formed ID number of
nobody is refused with the hub's Chinese words and changes nothing; the customer's own number
moves the ticket (same number) to the customer's class, the sheet closes, the row and the brief
show the customer and the status line says so. The number leaves the field as it is sent.
(Run by tests/test_tablet_ui.py.)
"""

from __future__ import annotations

from typing import Any

from tests.tablet_ui_scenarios import (
    SHOTS,
    Device,
    Rig,
    check_touch_targets,
    harness,
    press,
    rig,
    tap_row,
)

__all__ = ["harness", "rig"]

HUB_WITH_DESK = True  # the rig's hub has desk D1 with a simulated ID reader

NOT_FOUND = "未找到持此卡、存折或身份证的客户。"
NOBODY = "110101190001010000"  # an ID number's shape; no customer holds it


def _walk_in(rig: Rig, device: Device) -> Any:
    """A walk-in takes a ticket; the lobby manager opens the brief; returns the row's visit."""
    number = rig.hub.arrive(None, service="cash")["ticket"]["number"]
    board = device.tablet.state.board
    rig.until(lambda: any(v.ticket == number for v in board.visits.values()), "the walk-in")
    visit = next(v for v in board.visits.values() if v.ticket == number)
    rig.until(lambda: device.view.row_for(visit.visit_id) is not None, "the row drawn")
    tap_row(rig, device.view, visit.visit_id)
    state = device.tablet.state
    rig.until(
        lambda: state.brief is not None and state.brief.visit_id == visit.visit_id, "the brief"
    )
    rig.until(lambda: "identify" in device.view.buttons, "the Identify button")
    return visit


def _type(rig: Rig, device: Device, number: str) -> None:
    field = device.view.inputs["identify_value"]
    field.text = number
    rig.until(lambda: not device.view.buttons["identify_confirm"].disabled, "Confirm ready")


def _identified(rig: Rig) -> list[str]:
    events = rig.hub.hub.stream.log.since(0, 1000)  # type: ignore[union-attr]
    return [e.data["visit_id"] for e in events if e.kind == "arrival" and e.data.get("identified")]


def test_lobby_manager_identifies_a_walk_in_by_id_number(rig: Rig) -> None:
    lobby = rig.device("IDN-LM1")
    rig.login("IDN-LM1", "lm1")
    customer = rig.vip()
    visit = _walk_in(rig, lobby)
    assert visit.walk_in
    press(rig, lobby.view, "identify")
    rig.until(lambda: "identify_confirm" in lobby.view.buttons, "the sheet")
    assert lobby.view.buttons["identify_confirm"].disabled, "nothing typed yet"
    check_touch_targets(lobby.view)

    # A number of nobody: the hub's Chinese words, the sheet open, nothing changed.
    _type(rig, lobby, NOBODY)
    press(rig, lobby.view, "identify_confirm")
    assert lobby.view.inputs["identify_value"].text == "", "the number left the field"
    rig.until(lambda: lobby.tablet.message == NOT_FOUND, "the refusal")
    rig.until(lambda: lobby.view.status_text == NOT_FOUND, "on the status line")
    assert "identify_confirm" in lobby.view.buttons, "the sheet stays open"
    assert lobby.tablet.state.board.visits[visit.visit_id].walk_in
    assert _identified(rig) == []

    # The customer's own ID number (typed with a small x where it has one).
    press(rig, lobby.view, "identify_kind:id_number")
    _type(rig, lobby, customer["id_number"].lower())
    rig._export(lobby.view, SHOTS / "tablet-identify-sheet.png")  # the sheet is this view's
    field = lobby.view.inputs["identify_value"]
    press(rig, lobby.view, "identify_confirm")
    assert field.text == "", "the number left the field"
    rig.until(lambda: "identify_confirm" not in lobby.view.buttons, "the sheet closed")
    visits = lobby.tablet.state.board.visits
    rig.until(lambda: not visits[visit.visit_id].walk_in, "the row replaced by the push")
    row = visits[visit.visit_id]
    assert row.ticket == visit.ticket, "the ticket keeps its number"
    assert row.priority
    assert row.salutation_zh
    done = f"{visit.ticket} 已识别为{row.salutation_zh}"
    rig.until(lambda: lobby.view.status_text == done, "the confirmation")
    brief = lobby.tablet.state.brief
    assert brief is not None
    assert not brief.walk_in
    assert brief.salutation_zh == row.salutation_zh
    rig.until(
        lambda: row.salutation_zh in str(lobby.view.row_for(visit.visit_id).title), "row drawn"
    )
    assert "identify" not in lobby.view.buttons, "a known customer is not identified again"
    assert _identified(rig) == [visit.visit_id]
    rig.until(lambda: not lobby.tablet.busy, "the brief fetched again after the push")
    card = lobby.view.screen.brief_card
    card.scroll.scroll_y = 1  # the customer's name and class at the top of the card
    rig.harness.frames(3)
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-identify-done.png")
    failures = " ".join(lobby.tablet.failures)
    assert customer["id_number"] not in failures
    assert NOBODY not in failures


def test_lobby_manager_identifies_a_walk_in_at_the_desk_reader(rig: Rig) -> None:
    lobby = rig.device("IDN-LM2")
    rig.login("IDN-LM2", "lm1")
    typed = rig.vip()["customer_id"]  # identified by the scenario above
    customer = next(
        r
        for r in rig.rows
        if r["tier"] in ("wealth", "private") and r["id_number"] and r["customer_id"] != typed
    )
    visit = _walk_in(rig, lobby)
    press(rig, lobby.view, "identify")
    rig.until(lambda: "identify_desk:0" in lobby.view.buttons, "the desk reader offered")
    assert "D1" in lobby.view.buttons["identify_desk:0"].text
    press(rig, lobby.view, "identify_desk:0")
    rig.until(lambda: "D1" in str(lobby.tablet.message), "place the card, it says")
    hub = rig.hub.hub
    assert hub is not None
    rig.until(lambda: hub.lobby.desk_reads.waiting("D1"), "the hub waits at D1")
    reader = hub.lobby.stations["D1"].sims["idreader"]
    reader.place(
        0,
        name=customer["name"],
        gender=customer["gender"],
        birth=customer["birth_date"],
        id_number=customer["id_number"],
    )
    visits = lobby.tablet.state.board.visits
    rig.until(lambda: not visits[visit.visit_id].walk_in, "identified by the desk's read")
    assert visits[visit.visit_id].ticket == visit.ticket
    rig.until(lambda: "identify_confirm" not in lobby.view.buttons, "the sheet closed")
    reader.remove()
    assert visit.visit_id in _identified(rig)
