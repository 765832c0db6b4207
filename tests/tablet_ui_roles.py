"""Tablet UI, the account manager's day: a customer handed to them by name, accepted, a lead's
outcome recorded, colleagues' work read in the timeline. Under Xvfb against the real hub."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from tests import tablet_ui_scenarios as scenarios
from tests.support.tablethub import PIN
from tests.tablet_ui_scenarios import SHOTS, Device, Rig, check_touch_targets, press, tap_row

harness = scenarios.harness
rig = scenarios.rig
pytestmark = scenarios.pytestmark

ACCOUNT_MANAGER = ("am1", "客户经理 Account One")


def _texts(device: Device) -> list[str]:
    return [str(getattr(w, "text", "")) for w in device.view.walk()]


def _walk_in_with_a_lead(rig: Rig) -> dict[str, Any]:
    """A mass or basic customer with a card, a lead and no declines in HQ's history."""
    return next(
        r
        for r in rig.rows
        if r["tier"] in ("mass", "basic") and r["cards"] and r["leads"]
        if not r.get("lead_declines")
    )


def test_account_manager_takes_a_named_hand_off_and_records_an_outcome(rig: Rig) -> None:
    assert rig.hub.hub is not None
    staff_id, name = ACCOUNT_MANAGER
    rig.hub.hub.security.staff.add(staff_id, name, "account_manager", PIN)
    manager = rig.device("TAB-AM")
    rig.login("TAB-AM", staff_id)
    lobby = rig.device("TAB-AL")
    rig.login("TAB-AL", "lm1")

    number = rig.hub.arrive(_walk_in_with_a_lead(rig)["cards"][0]["pan"])["ticket"]["number"]
    board = lobby.tablet.state.board
    rig.until(lambda: any(v.ticket == number for v in board.visits.values()), "arrival")
    visit_id = next(v.visit_id for v in board.visits.values() if v.ticket == number)
    rig.until(lambda: lobby.view.row_for(visit_id) is not None, "row drawn")
    tap_row(rig, lobby.view, visit_id)
    rig.until(lambda: "claim" in lobby.view.buttons, "brief with its actions")
    press(rig, lobby.view, "claim")
    rig.until(lambda: lobby.tablet.message == "已认领", "claimed")
    press(rig, lobby.view, "handoff_pick")
    rig.until(lambda: f"to:{staff_id}" in lobby.view.buttons, "the account manager on duty")
    press(rig, lobby.view, f"to:{staff_id}")
    rig.until(lambda: lobby.tablet.message == "已转交", "handed over")

    rig.show("TAB-AM")
    rig.until(lambda: "accept_handoff" in manager.view.buttons, "the hand-off banner")
    assert "大堂经理" in manager.view.ids.offer.text, "the giver by role title"
    press(rig, manager.view, "accept_handoff")
    rig.until(lambda: not manager.tablet.state.handoffs.offers, "accepted")
    if manager.tablet.state.brief is None or manager.tablet.state.brief.visit_id != visit_id:
        rig.until(lambda: manager.view.row_for(visit_id) is not None, "the customer's row")
        tap_row(rig, manager.view, visit_id)
    state = manager.tablet.state
    rig.until(lambda: state.brief is not None and state.brief.visit_id == visit_id, "the brief")
    assert state.brief is not None
    lead = state.brief.leads[0].lead_id
    key = f"outcome:{lead}:not_suitable"
    rig.until(lambda: key in manager.view.buttons, "the lead's outcome buttons")
    texts = " ".join(_texts(manager))
    assert f"{name}  ·  客户经理" in texts, "who is signed in, by name and title"
    assert staff_id not in texts, "no staff ids on screen"
    assert "lm1" not in texts
    check_touch_targets(manager.view)
    rig.shot(SHOTS / "tablet-account-manager.png")
    press(rig, manager.view, key)
    rig.until(lambda: manager.tablet.message == "已记录结果", "outcome recorded")

    rig.until(lambda: "timeline" in manager.view.buttons, "the timeline button")
    press(rig, manager.view, "timeline")
    rig.until(lambda: "timeline_close" in manager.view.buttons, "the timeline")
    texts = " ".join(_texts(manager))
    assert "大堂经理 Lobby One · 大堂经理" in texts, "the lobby manager's claim by name and title"
    assert f"{name} · 客户经理" in texts, "their own outcome by name and title"
    events = rig.hub.hub.stream.log.since(0, 1000)
    assert any(e.kind == "lead_outcome" and e.data["outcome"] == "not_suitable" for e in events)


def test_an_installed_update_waits_for_the_logout_and_says_so(rig: Rig) -> None:
    from tablet.app import TabletApp

    manager = rig.show("TAB-AM")
    assert manager.tablet.state.session is not None
    updates = SimpleNamespace(restart_due=threading.Event())
    app = TabletApp(manager.tablet, updates=updates)  # type: ignore[arg-type]
    app.view = manager.view
    stopped: list[bool] = []
    app.stop = lambda *_: stopped.append(True)  # the real stop would end the test's window
    app._restart_when_free(1.0)
    assert not manager.view.update_ready, "nothing installed yet: nothing to say"
    updates.restart_due.set()
    app._restart_when_free(1.0)
    rig.until(lambda: "退出登录后" in manager.view.update_text, "the update line")
    assert not stopped, "never restarted under a logged-in staff member"
    check_touch_targets(manager.view)
    rig.shot(SHOTS / "tablet-update-ready.png")
    manager.tablet.logout()
    rig.until(lambda: manager.tablet.state.session is None, "logged out")
    app._restart_when_free(1.0)
    assert stopped == [True], "restarted into the new version once nobody is logged in"
    manager.view.update_ready = False


def test_every_work_screen_survives_a_drop_and_a_hub_restart(rig: Rig) -> None:
    assert rig.hub.hub is not None
    rig.hub.hub.security.staff.add("bm1", "网点负责人 Branch One", "branch_admin", PIN)
    people = {"TAB-AM": ACCOUNT_MANAGER[0], "TAB-BM": "bm1", "CTR-AM": "t1"}
    rig.device("TAB-BM")
    rig.device("CTR-AM", kind="counter")
    for name, staff_id in people.items():
        rig.login(name, staff_id)
    screens = {name: rig.devices[name].tablet.screen for name in people}
    assert screens == {"TAB-AM": "advisor", "TAB-BM": "board", "CTR-AM": "counter"}

    # Wi-Fi drops: each tablet catches up with what happened meanwhile, once.
    for name in people:
        rig.hub.drop_connections(name)
    missed = rig.hub.arrive(None, service="cash")["ticket"]["number"]
    for name in people:
        board = rig.devices[name].tablet.state.board
        rig.until(lambda b=board: any(v.ticket == missed for v in b.visits.values()), name)

    # The hub restarts: every screen says so, then asks for the PIN again and comes back.
    rig.hub.stop()
    for name in people:
        device = rig.show(name)
        rig.until(lambda d=device: d.view.drawn_screen in ("reconnecting", "login"), f"{name} told")
    rig.hub.start()
    for name, staff_id in people.items():
        device = rig.show(name)
        rig.until(lambda d=device: d.tablet.screen == "login", f"{name} asked to log in")
        assert device.tablet.state.board.visits == {}, "forgotten with the session"
        rig.login(name, staff_id)
        rig.until(lambda d=device, n=name: d.view.drawn_screen == screens[n], f"{name} back")
        board = device.tablet.state.board
        rig.until(lambda b=board: any(v.ticket == missed for v in b.visits.values()), name)
        check_touch_targets(device.view)
