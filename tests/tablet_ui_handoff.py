"""Hand-off to a person on two tablets under Xvfb against the real hub.

The lobby manager hands a VIP to the customer's own wealth manager, escorted to the VIP room;
the wealth manager (alerted of the arrival at their later login) sees the banner and accepts;
the lobby manager's row shows who accepted and where the customer is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.kivy_harness import Harness
from tests.support.tablethub import PIN, make_hub
from tests.tablet_ui_scenarios import (
    ROOT,
    SHOTS,
    Rig,
    check_touch_targets,
    harness,
    press,
    tap_row,
)

__all__ = ["harness", "rig"]


@pytest.fixture(scope="module")
def rig(harness: Harness) -> Iterator[Rig]:
    """This file's own hub (its own folder: the other scenario files run in the same process)."""
    hub, rows = make_hub(ROOT / "hubside-handoff")
    rig = Rig(harness, hub, rows)
    try:
        yield rig
    finally:
        for device in rig.devices.values():
            device.tablet.close()
        hub.stop()


RM_NAME = "王芳"


def _own_vip(rig: Rig) -> dict[str, Any]:
    found = [
        r
        for r in rig.rows
        if r["tier"] in ("wealth", "private") and r["relationship_manager"] and r["cards"]
    ]
    return found[0]


def _visit_of(device: Any, number: str) -> Any:
    return next(v for v in device.tablet.state.board.visits.values() if v.ticket == number)


def test_the_own_manager_is_alerted_at_a_later_login(rig: Rig) -> None:
    customer = _own_vip(rig)
    rm = customer["relationship_manager"]
    assert rig.hub.hub is not None
    rig.hub.hub.security.staff.add(rm, RM_NAME, "wealth_manager", PIN)
    lobby = rig.device("TAB-LM")
    rig.login("TAB-LM", "lm1")
    manager = rig.device("TAB-RM")  # enrolled, nobody logged in when the customer comes
    number = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]["number"]
    rig.until(
        lambda: any(v.ticket == number for v in lobby.tablet.state.board.visits.values()),
        "arrival on the lobby tablet",
    )
    rig.login("TAB-RM", rm)
    rig.until(lambda: "dismiss_alert" in manager.view.buttons, "the arrival alert at login")
    assert number in manager.view.ids.offer.text
    assert "您的客户" in manager.view.ids.offer.text
    check_touch_targets(manager.view)
    rig.own_vip = (customer, number)  # type: ignore[attr-defined]


def test_lobby_manager_hands_a_vip_to_the_named_manager_who_accepts(rig: Rig) -> None:
    customer, number = rig.own_vip  # type: ignore[attr-defined]
    rm = customer["relationship_manager"]
    lobby = rig.show("TAB-LM")
    visit = _visit_of(lobby, number)
    rig.until(lambda: lobby.view.row_for(visit.visit_id) is not None, "row drawn")
    tap_row(rig, lobby.view, visit.visit_id)
    rig.until(lambda: "handoff_pick" in lobby.view.buttons, "brief with the hand-off button")
    press(rig, lobby.view, "handoff_pick")
    rig.until(lambda: f"to:{rm}" in lobby.view.buttons, "picker with the customer's manager")
    assert "to:w1" not in lobby.view.buttons, "w1 is not on duty: not offered"
    press(rig, lobby.view, "loc:vip_room")
    rig.until(lambda: lobby.tablet.state.handoffs.location == "vip_room", "VIP room chosen")
    lobby.view.inputs["note"].text = "客户想了解养老理财"
    texts = [getattr(w, "text", "") for w in lobby.view.walk()]
    assert any(RM_NAME in t and "理财经理" in t for t in texts), "names and role titles"
    assert not any(rm in t for t in texts), "no staff ids on screen"
    check_touch_targets(lobby.view)
    rig.harness.frames(5)  # the picker's layout settles before the picture
    rig.shot(SHOTS / "tablet-handoff-picker.png")
    press(rig, lobby.view, f"to:{rm}")
    rig.until(lambda: lobby.tablet.message == "已转交", "handed over")

    manager = rig.show("TAB-RM")
    rig.until(lambda: "accept_handoff" in manager.view.buttons, "the hand-off banner")
    rig.until(lambda: "养老理财" in manager.view.ids.offer.text, "the note in the banner")
    banner = manager.view.ids.offer.text
    assert "贵宾室" in banner
    assert "大堂经理" in banner, "the giver by role title"
    check_touch_targets(manager.view)
    rig.shot(SHOTS / "tablet-handoff-banner.png")
    press(rig, manager.view, "accept_handoff")
    rig.until(lambda: not manager.tablet.state.handoffs.offers, "accepted")

    lobby = rig.show("TAB-LM")
    given = lobby.tablet.state.handoffs.handovers
    rig.until(lambda: given[visit.visit_id].accepted_by == rm, "the giver sees it accepted")
    rig.until(
        lambda: "已接手" in (lobby.view.row_for(visit.visit_id).detail or ""), "row says accepted"
    )
    detail = lobby.view.row_for(visit.visit_id).detail
    assert "在贵宾室" in detail
    assert RM_NAME in detail
    events = rig.hub.hub.stream.log.since(0, 1000)  # type: ignore[union-attr]
    assert any(e.kind == "handoff_accepted" and e.data["accepted_by"] == rm for e in events)
