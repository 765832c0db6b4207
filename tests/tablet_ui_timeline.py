"""Colleagues in one timeline on two tablets under Xvfb, against the real hub.

The lobby manager claims a VIP, leaves a note and hands the customer to wealth; the wealth
manager opens the brief's timeline and sees both by name and role title, with the customer's
visit of two weeks ago under its date; a new note from the lobby appears there live.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.tablet_ui_scenarios import (
    SHOTS,
    Rig,
    check_touch_targets,
    harness,
    press,
    rig,
    tap_row,
)

__all__ = ["harness", "rig"]


def _texts(view: Any) -> list[str]:
    return [str(getattr(w, "text", "")) for w in view.walk()]


def _earlier_visit(rig: Rig, customer: dict[str, Any]) -> str:
    """The customer's visit two weeks ago, written to the hub's own stores as the desk would."""
    from branch_hub.ids import new_visit_id
    from branch_hub.lobby.visits import Visit

    hub = rig.hub.hub
    assert hub is not None
    at = datetime.now(UTC) - timedelta(days=14)
    day = at.astimezone(hub.lobby.zone).date()
    visit_id, cid = new_visit_id(), customer["customer_id"]
    hub.lobby.visits.add(
        Visit(visit_id, day.isoformat(), f"{day:%Y%m%d}-V001", "K1", at.isoformat(), False, cid,
              customer["tier"], True, "pan")
    )  # fmt: skip
    notes = hub.lobby.briefing.notes
    notes.claim(visit_id, staff_id="w1", role="wealth_manager", at=at, customer_id=cid)
    notes.add_note(
        visit_id, by="w1", role="wealth_manager", text="上次咨询过养老理财", customer_id=cid,
        at=at + timedelta(minutes=4),
    )  # fmt: skip
    return visit_id


def _settle(rig: Rig, device: Any) -> None:
    """Let the brief card be drawn again (a reloaded brief gets new buttons) before a press."""
    rig.until(lambda: not device.tablet.busy, "hub calls answered")
    rig.until(lambda: device.view.drawn_revision == device.tablet.state.revision, "redrawn")
    rig.harness.frames(3)


def test_wealth_manager_sees_colleagues_in_one_timeline(rig: Rig) -> None:
    from branch_hub.client.i18n import format_date

    lobby = rig.device("TAB-TL-LM")
    rig.login("TAB-TL-LM", "lm1")
    wealth = rig.device("TAB-TL-W")
    rig.login("TAB-TL-W", "w1")
    customer = rig.vip(1)
    _earlier_visit(rig, customer)
    ticket = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]

    rig.show("TAB-TL-LM")
    board = lobby.tablet.state.board
    rig.until(lambda: any(v.ticket == ticket["number"] for v in board.visits.values()), "arrival")
    visit = next(v for v in board.visits.values() if v.ticket == ticket["number"])
    rig.until(lambda: lobby.view.row_for(visit.visit_id) is not None, "row drawn")
    tap_row(rig, lobby.view, visit.visit_id)
    rig.until(lambda: "claim" in lobby.view.buttons, "brief with its actions")
    press(rig, lobby.view, "claim")

    def brief() -> Any:
        return lobby.tablet.state.brief

    rig.until(lambda: brief() is not None and brief().claimed_by == "lm1", "claim in the brief")
    _settle(rig, lobby)
    lobby.view.inputs["note"].text = "客户关注理财到期"
    press(rig, lobby.view, "note")
    rig.until(lambda: any("理财到期" in n.text for n in brief().notes), "note in the brief")
    _settle(rig, lobby)
    press(rig, lobby.view, "handoff_wealth")
    try:
        rig.until(lambda: visit.handed_to_role == "wealth_manager", "handed to wealth")
    except AssertionError:
        tablet = lobby.tablet
        raise AssertionError(f"{tablet.message!r} {list(tablet.failures)}") from None

    rig.show("TAB-TL-W")
    rig.until(lambda: wealth.view.row_for(visit.visit_id) is not None, "handed-to row")
    tap_row(rig, wealth.view, visit.visit_id)
    rig.until(lambda: "timeline" in wealth.view.buttons, "brief with the timeline button")
    press(rig, wealth.view, "timeline")
    state = wealth.tablet.state
    rig.until(lambda: state.timeline is not None, "timeline fetched")
    rig.until(lambda: "timeline_close" in wealth.view.buttons, "timeline shown")
    assert state.timeline is not None
    now, before = state.timeline.visits
    assert [(e.kind, e.name) for e in now.entries if e.by] == [
        ("handoff", "大堂经理 Lobby One"),
        ("note", "大堂经理 Lobby One"),
        ("claim", "大堂经理 Lobby One"),
    ]
    texts = _texts(wealth.view)
    assert "本次到访" in " ".join(texts)
    assert any("大堂经理 Lobby One · 大堂经理" in t for t in texts), "name and role title"
    assert "客户关注理财到期" in texts
    earlier = format_date(datetime.fromisoformat(before.day).date(), "zh_CN")
    assert any(t.startswith(earlier) for t in texts), "the earlier visit under its date"
    assert any("理财经理 Wealth One · 理财经理" in t for t in texts)
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-timeline.png")

    # A colleague's new note reaches the open timeline live (the lobby tablet is off screen:
    # its note button's verb is called).
    lobby.tablet.add_note(visit.visit_id, "客户已到理财室等候")
    rig.until(lambda: "客户已到理财室等候" in _texts(wealth.view), "the new note, live")
    press(rig, wealth.view, "timeline_close")
    rig.until(lambda: "timeline_close" not in wealth.view.buttons, "back to the brief")
    assert state.timeline is None
    assert state.brief is not None
