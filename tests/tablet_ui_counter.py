"""The counter view under Xvfb against a real hub: call, brief, park, resume, transfer, finish.

Run through tests/test_tablet_ui.py (one child process for every tablet_ui_*.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.kivy_harness import Harness
from tests.support.tablethub import make_hub
from tests.tablet_ui_scenarios import (
    ROOT,
    SHOTS,
    Device,
    Rig,
    check_touch_targets,
    harness,
    press,
)

__all__ = ["harness", "rig"]

pytestmark = pytest.mark.skipif(
    "TABLET_TEST_ROOT" not in os.environ, reason="run through tests/test_tablet_ui.py"
)


@pytest.fixture(scope="module")
def rig(harness: Harness) -> Iterator[Rig]:
    hub, rows = make_hub(ROOT / "hubside-counter")
    rig = Rig(harness, hub, rows)
    try:
        yield rig
    finally:
        for device in rig.devices.values():
            device.tablet.close()
        hub.stop()


def _events(rig: Rig, ticket_id: str) -> list[tuple[str, Any]]:
    log = rig.hub.hub.stream.log  # type: ignore[union-attr]
    return [
        (e.kind, e.data.get("state"))
        for e in log.since(0, 5000)
        if e.data.get("ticket_id") == ticket_id
    ]


def _serving(counter: Device) -> str | None:
    serving = counter.tablet.state.serving
    return serving.id if serving is not None else None


def _call_next(rig: Rig, counter: Device, ticket_id: str) -> None:
    press(rig, counter.view, "call_next")
    rig.until(lambda: _serving(counter) == ticket_id, f"{ticket_id} called")
    rig.until(lambda: counter.tablet.state.brief is not None, "the served customer's brief")


def test_teller_serves_parks_resumes_transfers_and_finishes_with_an_outcome(rig: Rig) -> None:
    counter = rig.device("CTR-9", kind="counter")
    rig.login("CTR-9", "t1")
    assert counter.tablet.screen == "counter"
    screen = counter.view.screen
    rig.until(lambda: screen.counter_text == "1号窗口", "the counter's Chinese name")
    walk_in = rig.hub.arrive(None, service="cash")["ticket"]
    vip = rig.hub.arrive(rig.vip()["cards"][0]["pan"], service="cash")["ticket"]
    _call_next(rig, counter, vip["id"])  # the priority customer comes first
    brief = counter.tablet.state.brief
    assert brief is not None
    assert not brief.walk_in
    assert brief.leads
    assert brief.aum_band is None, "a teller never sees the asset band"
    rig.until(lambda: vip["number"] in screen.serving_text, "serving line")
    assert brief.salutation_zh in screen.serving_text
    assert brief.tier is not None
    assert brief.tier.name_zh in screen.serving_detail
    rig.until(lambda: brief.leads[0].product in screen.lead_text, "the counter lead")
    assert "finish:accepted" in counter.view.buttons
    check_touch_targets(counter.view)
    rig.shot(SHOTS / "tablet-counter-serving.png")

    press(rig, counter.view, "park")
    rig.until(lambda: f"resume:{vip['id']}" in counter.view.buttons, "parked ticket listed")
    assert counter.tablet.state.serving is None
    _call_next(rig, counter, walk_in["id"])
    press(rig, counter.view, f"resume:{vip['id']}")
    try:
        rig.until(lambda: _serving(counter) == vip["id"], "the parked customer served again")
    except AssertionError:
        tablet = counter.tablet
        raise AssertionError(f"{tablet.message!r} {list(tablet.failures)}") from None
    assert ("finished", "finished") in _events(rig, walk_in["id"])
    assert _events(rig, vip["id"])[-1] == ("ticket_updated", "called")
    rig.until(lambda: f"resume:{vip['id']}" not in counter.view.buttons, "parked list empty")

    _transfer_with_the_picker(rig, counter, vip)

    other = rig.hub.arrive(rig.vip(1)["cards"][0]["pan"], service="cash")["ticket"]
    _call_next(rig, counter, other["id"])
    lead = counter.tablet.state.brief.leads[0]
    rig.until(lambda: "finish:accepted" in counter.view.buttons, "finish with an outcome")
    press(rig, counter.view, "finish:accepted")
    rig.until(lambda: counter.tablet.state.serving is None, "finished")
    log = rig.hub.hub.stream.log.since(0, 5000)  # type: ignore[union-attr]
    assert any(e.kind == "lead_outcome" and e.data["lead_id"] == lead.lead_id for e in log)
    assert ("finished", "finished") in _events(rig, other["id"])
    counter.tablet.logout()


def _transfer_with_the_picker(rig: Rig, counter: Device, vip: dict[str, Any]) -> None:
    view = counter.view
    press(rig, view, "transfer")
    rig.until(lambda: "pick_service:account" in view.buttons, "picker with the services")
    press(rig, view, "pick_service:account")
    rig.until(lambda: "pick_counter:C2" in view.buttons, "counters serving the service")
    assert "pick_counter:C3" not in view.buttons, "C3 does not serve accounts"
    assert "pick_counter:C1" not in view.buttons, "not back to this counter"
    press(rig, view, "pick_counter:C2")
    rig.until(lambda: view.buttons["pick_counter:C2"].text.startswith("2号窗口"), "C2 chosen")
    check_touch_targets(view)
    rig.shot(SHOTS / "tablet-counter-transfer.png")
    press(rig, view, "transfer_confirm")
    rig.until(lambda: counter.tablet.state.serving is None, "transferred")
    assert "transfer_confirm" not in view.buttons, "the picker closed"
    assert _events(rig, vip["id"])[-1] == ("transferred", "waiting")
    visit = next(v for v in counter.tablet.state.board.visits.values() if v.ticket_id == vip["id"])
    rig.until(lambda: visit.service == "account", "moved to the account queue")
