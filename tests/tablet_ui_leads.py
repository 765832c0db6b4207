"""Tablet UI, leads: a wealth manager declines a lead with a reason, so every tablet's brief holds
it back as "do not re-pitch"; a follow-up takes a date. Under Xvfb against the real hub."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests import tablet_ui_scenarios as scenarios
from tests.tablet_ui_scenarios import (
    SHOTS,
    Device,
    Rig,
    _visible,
    check_touch_targets,
    press,
    tap_row,
)

# The shared fixtures: this module gets its own hub, window and tablets.
harness = scenarios.harness
rig = scenarios.rig
pytestmark = scenarios.pytestmark


def _customer(rig: Rig) -> dict[str, Any]:
    """A customer with a card, two leads or more, and no declines in HQ's history."""
    return next(
        r for r in rig.rows if r["cards"] and len(r["leads"]) >= 2 and rig.pitchable(r, first=2)
    )


def _open(rig: Rig, device: Device, visit_id: str) -> None:
    rig.until(lambda: _visible(device.view, visit_id), "the customer's row")
    tap_row(rig, device.view, visit_id)
    rig.until(
        lambda: (
            device.tablet.state.brief is not None and device.tablet.state.brief.visit_id == visit_id
        ),
        "the brief",
    )


def _held_back(device: Device) -> list[str]:
    brief = device.tablet.state.brief
    return [lead.lead_id for lead in brief.do_not_repitch] if brief else []


def test_a_declined_lead_is_held_back_on_every_tablet(rig: Rig) -> None:
    wealth = rig.device("TAB-LW")
    rig.login("TAB-LW", "w1")
    lobby = rig.device("TAB-LL")
    rig.login("TAB-LL", "lm1")
    customer = _customer(rig)
    number = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]["number"]
    board = lobby.tablet.state.board
    rig.until(lambda: any(v.ticket == number for v in board.visits.values()), "arrival")
    visit_id = next(v.visit_id for v in board.visits.values() if v.ticket == number)
    _open(rig, lobby, visit_id)
    rig.until(lambda: "handoff_wealth" in lobby.view.buttons, "hand-off button")
    press(rig, lobby.view, "handoff_wealth")

    rig.show("TAB-LW")
    _open(rig, wealth, visit_id)
    brief = wealth.tablet.state.brief
    assert brief is not None
    first, second = brief.leads[0].lead_id, brief.leads[1].lead_id
    rig.until(lambda: f"outcome:{first}:declined" in wealth.view.buttons, "outcome buttons")
    texts = [getattr(w, "text", "") for w in wealth.view.walk()]
    assert any(t.startswith("匹配度 ") and t[-1] in "高中低" for t in texts), "the score band"
    assert any(brief.leads[0].talking_points[0] in t for t in texts), "the talking points"
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-leads.png")

    press(rig, wealth.view, f"outcome:{first}:declined")
    reason = f"reason:{first}:rate_unattractive"
    rig.until(lambda: reason in wealth.view.buttons, "the reason picker")
    assert f"outcome:{first}:declined" not in wealth.view.buttons
    assert wealth.view.buttons[reason].text == "收益不具吸引力"
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-lead-reasons.png")
    press(rig, wealth.view, reason)
    rig.until(lambda: first in _held_back(wealth), "held back on the wealth manager's brief")
    assert not [key for key in wealth.view.buttons if key.startswith(f"outcome:{first}:")]
    texts = [getattr(w, "text", "") for w in wealth.view.walk()]
    assert "近期已婉拒（请勿再次推荐）" in texts
    assert any("婉拒：收益不具吸引力" in t and "理财经理" in t for t in texts)

    # The follow-up picker offers dates; the chosen one comes back on the card.
    press(rig, wealth.view, f"outcome:{second}:follow_up")
    choice = f"follow_up:{second}:7"
    rig.until(lambda: choice in wealth.view.buttons, "the date picker")
    check_touch_targets(wealth.view)
    press(rig, wealth.view, choice)
    in_a_week = (date.today() + timedelta(days=7)).isoformat()

    def followed_up() -> bool:
        shown = wealth.tablet.state.brief
        lead = next((x for x in shown.leads if x.lead_id == second), None) if shown else None
        return (
            lead is not None
            and lead.recorded is not None
            and (lead.recorded.follow_up_on == in_a_week)
        )

    rig.until(followed_up, "the follow-up on the card")
    check_touch_targets(wealth.view)
    wealth.view.screen.brief_card.scroll.scroll_y = 0  # the held-back section is at the end
    rig.harness.frames(3)
    rig.shot(SHOTS / "tablet-do-not-repitch.png")

    # The lobby manager's tablet, its brief still open, shows the decline too, without buttons.
    lobby_device = rig.show("TAB-LL")
    rig.until(lambda: first in _held_back(lobby_device), "held back on the second tablet")
    rig.until(lambda: f"outcome:{second}:accepted" in lobby.view.buttons, "redrawn")
    assert not [key for key in lobby.view.buttons if key.startswith(f"outcome:{first}:")]
