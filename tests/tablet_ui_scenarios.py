"""Tablet UI scenarios under Xvfb against a real hub; run in a child process by test_tablet_ui.

A child process gives these tests their own Kivy window, Xvfb, temp dir and Kivy home, so the
parent can search those folders after the app has exited (data hygiene).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from branch_hub.pki import ca_fingerprint
from tablet.cli import MULTISAMPLES
from tests.support.kivy_harness import Harness, shared_harness
from tests.support.tablethub import PIN, TabletHub, make_hub

ROOT = Path(os.environ.get("TABLET_TEST_ROOT", "/nonexistent"))
# Pictures go to the child's temporary root; `./run screenshots` writes the documentation's.
SHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    if os.environ.get("BRANCH_EDGE_SCREENSHOTS") == "docs"
    else ROOT / "screenshots"
)
SIZE = (1280, 800)
LARGE = (2048, 1536)  # an iPad-class tablet at density 2

pytestmark = pytest.mark.skipif(
    "TABLET_TEST_ROOT" not in os.environ, reason="run through tests/test_tablet_ui.py"
)


@pytest.fixture(scope="module")
def harness() -> Harness:
    """The process's one window on its one Xvfb, shared by every scenario file (stopped at exit)."""
    os.environ["KCFG_GRAPHICS_MULTISAMPLES"] = str(MULTISAMPLES)  # as the app runs
    harness = shared_harness()
    harness.use_asyncio()  # the app runs on Kivy's asyncio loop, its hub calls as tasks on it
    from branch_hub.client.fonts import find_cjk_font
    from tablet.app import use_font

    use_font(find_cjk_font())
    return harness


@pytest.fixture(scope="module")
def rig(harness: Harness, request: pytest.FixtureRequest) -> Iterator[Rig]:
    # One hub per scenario module, each in its own folder.
    # A module setting HUB_WITH_DESK = True gets staff desk D1 (a simulated ID reader) too.
    desk = bool(getattr(request.module, "HUB_WITH_DESK", False))
    folder = ROOT / f"hubside-{request.module.__name__.rsplit('.', 1)[-1]}"
    hub, rows = make_hub(folder, desk=desk)
    rig = Rig(harness, hub, rows)
    try:
        yield rig
    finally:
        for device in rig.devices.values():
            device.tablet.close()
        hub.stop()


@dataclass
class Device:
    """One tablet app (its own data folder) and its view."""

    tablet: Any
    view: Any


class Rig:
    """The hub, the window and the tablets of the scenario."""

    def __init__(self, harness: Harness, hub: TabletHub, rows: list[dict[str, Any]]) -> None:
        self.harness = harness
        self.hub = hub
        self.rows = rows
        self.devices: dict[str, Device] = {}
        self.shown: Device | None = None

    def vip(self, index: int = 0) -> dict[str, Any]:
        """A priority customer with a card whose first lead is one staff may pitch."""
        found = [
            r
            for r in self.rows
            if r["tier"] in ("wealth", "private") and r["cards"] and self.pitchable(r)
        ]
        return found[index]

    def pitchable(self, row: dict[str, Any], first: int = 1) -> bool:
        """True when the hub lets staff pitch the customer's first `first` leads."""
        from tests.support.tablethub import pitchable

        return pitchable(self.hub, row, first)

    def pump_all(self) -> None:
        """Let every tablet not on screen take its messages too."""
        for device in self.devices.values():
            if device is not self.shown:
                device.tablet.pump()

    def until(self, predicate: Any, what: str, timeout_s: float = 15.0) -> float:
        """Advance frames (all tablets) until `predicate()`."""

        def check() -> bool:
            self.pump_all()
            return bool(predicate())

        return self.harness.until(check, timeout_s, what)

    def shot(self, path: Path) -> None:
        """Screenshot the shown view at 1280×800, then at 2048×1536 (density 2) as name@2048."""
        assert self.shown is not None
        self._export(self.shown.view, path)
        self._shot_large(self.shown, path.with_name(f"{path.stem}@2048{path.suffix}"))

    def _export(self, view: Any, path: Path) -> None:
        view.paint_background(True)
        try:
            self.harness.screenshot(path)
        finally:
            view.paint_background(False)

    def _shot_large(self, device: Device, path: Path) -> None:
        """The same state drawn by a second view built at density 2 (dp and sp apply at build)."""
        from kivy.metrics import Metrics

        from tablet.app import TabletView
        from tablet.i18n import language

        shown, density = language(), Metrics.density
        Metrics.density = 2
        try:
            view = TabletView(device.tablet)
            view.show_language(shown)
            view.revocation_seen = device.view.revocation_seen
            self.harness.show(view, LARGE)
            view.redraw()
            self.harness.frames(4)
            self._export(view, path)
        finally:
            Metrics.density = density
            self.harness.show(device.view, SIZE)

    def show(self, name: str) -> Device:
        """Put a tablet's view in the window."""
        device = self.devices[name]
        self.shown = device
        self.harness.show(device.view, SIZE)
        return device

    def device(self, name: str, kind: str = "tablet") -> Device:
        """A new tablet app enrolled through its setup screen."""
        from tablet.app import TabletView
        from tablet.controller import Tablet
        from tablet.device import DeviceStore

        store = DeviceStore(ROOT / "apps" / name)
        if kind == "counter":
            store.save_settings(counter="C1")
        tablet = Tablet(store, idle_timeout_s=600, loop=self.harness.aloop)
        view = TabletView(tablet)
        from kivy.clock import Clock

        Clock.schedule_interval(view.tick, 0)
        self.devices[name] = Device(tablet, view)
        self.show(name)
        assert tablet.screen == "setup"
        self.until(lambda: view.drawn_screen == "setup", "setup screen")
        check_touch_targets(view)
        view.inputs["hub"].text = self.hub.url
        view.inputs["code"].text = self.hub.enrolment_code(name, kind)
        view.inputs["fp"].text = ca_fingerprint(self.hub.tls.ca.cert)[:16]
        self.harness.tap(view.buttons["enrol"])
        self.until(lambda: tablet.screen == "login", f"{name} enrolled")
        assert store.enrolled
        return self.devices[name]

    def login(self, name: str, staff_id: str) -> Device:
        """Log a staff member in through the login form."""
        device = self.show(name)
        view = device.view
        self.until(lambda: "staff" in view.inputs, "login form")
        view.inputs["staff"].text = staff_id
        view.inputs["pin"].text = PIN
        self.harness.tap(view.buttons["login"])
        self.until(lambda: device.tablet.state.connected, f"{staff_id} logged in and live")
        self.until(lambda: view.drawn_screen == device.tablet.screen, "work screen")
        return device


def _visible(view: Any, visit_id: str) -> bool:
    row = view.row_for(visit_id)
    return row is not None and bool(row.title)


def tap_row(rig: Rig, view: Any, visit_id: str) -> None:
    """Tap a customer's row once the layout has settled (a banner may just have pushed it)."""
    rig.harness.frames(3)
    rig.harness.tap(view.row_for(visit_id))


def press(rig: Rig, view: Any, key: str) -> None:
    """Tap a button, first brought into view if the brief card has it scrolled away."""
    # Answers still on their way (a brief fetched again after a claim) rebuild the card: wait for
    # them, so the button tapped is the one on screen.
    rig.until(lambda: not view.tablet.busy, "hub calls answered")
    rig.harness.frames(2)
    button = view.buttons[key]
    scroll = getattr(view.screen, "brief_card", None)
    if scroll is not None and button in list(scroll.scroll.walk()):
        scroll.scroll.scroll_to(button, animate=False)
    rig.harness.frames(3)  # let the layout settle: the tap lands where the button is drawn
    if scroll is not None:
        # A ScrollView takes a tap while its content still glides (a bounce back after the card
        # grew or shrank) as "stop scrolling", not as a tap on the button under the finger.
        effects = [e for e in (scroll.scroll.effect_x, scroll.scroll.effect_y) if e is not None]
        rig.until(lambda: not any(e.velocity for e in effects), "the card at rest")
    rig.harness.tap(button)


def check_touch_targets(view: Any) -> None:
    """Every button and list row on the screen is at least 48 dp each way."""
    from kivy.metrics import dp
    from kivy.uix.behaviors import ButtonBehavior

    small = [
        (type(w).__name__, getattr(w, "text", ""), tuple(w.size))
        for w in view.walk()
        if isinstance(w, ButtonBehavior)
        and w.opacity > 0
        and (w.height < dp(48) or w.width < dp(48))
    ]
    assert not small, f"touch targets under 48 dp on {view.drawn_screen}: {small}"


def test_enrol_with_a_wrong_fingerprint_is_refused(rig: Rig) -> None:
    from tablet.app import TabletView
    from tablet.controller import Tablet
    from tablet.device import DeviceStore

    store = DeviceStore(ROOT / "apps" / "BAD1")
    tablet = Tablet(store)
    rig.devices["BAD1"] = Device(tablet, TabletView(tablet))
    tablet.enrol(rig.hub.url, rig.hub.enrolment_code("BAD1"), "00" * 8)
    rig.until(lambda: not tablet.busy, "enrolment answered")
    assert "does not match the fingerprint" in tablet.message
    assert not store.enrolled
    assert not store.ca_path.exists()


def test_lobby_manager_claims_a_vip_adds_a_note_and_hands_off(rig: Rig) -> None:
    wealth = rig.device("TAB-W1")
    rig.login("TAB-W1", "w1")
    lobby = rig.device("TAB-LM1")
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-login.png")
    rig.login("TAB-LM1", "lm1")
    assert lobby.tablet.screen == "lobby"
    customer = rig.vip()
    ticket = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]
    rig.until(
        lambda: any(v.ticket == ticket["number"] for v in lobby.tablet.state.board.visits.values()),
        "arrival in the list",
    )
    visit = next(
        v for v in lobby.tablet.state.board.visits.values() if v.ticket == ticket["number"]
    )
    rig.until(lambda: _visible(lobby.view, visit.visit_id), "row drawn")
    assert visit.priority
    assert ticket["number"] in lobby.view.banner_text  # the priority notification
    tap_row(rig, lobby.view, visit.visit_id)
    rig.until(lambda: lobby.tablet.state.brief is not None, "brief")
    assert lobby.tablet.state.brief.leads, "a VIP with leads shows talking points"
    rig.until(lambda: "claim" in lobby.view.buttons, "claim button")
    press(rig, lobby.view, "claim")
    rig.until(lambda: visit.claimed_by == "lm1", "claimed event")
    lobby.view.inputs["note"].text = "客户关注理财到期 wants to discuss a maturing product"
    press(rig, lobby.view, "note")
    rig.until(
        lambda: any(
            "maturing" in n.text
            for n in (lobby.tablet.state.brief.notes if lobby.tablet.state.brief else ())
        ),
        "note in the brief",
    )
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-lobby.png")
    press(rig, lobby.view, "handoff_wealth")
    rig.until(lambda: visit.handed_to_role == "wealth_manager", "handoff event")
    # The wealth manager's tablet got the hand-off live.
    rig.until(
        lambda: any(
            v.visit_id == visit.visit_id
            for v in wealth.tablet.state.board.handed_to("w1", "wealth_manager")
        ),
        "hand-off on the wealth manager's tablet",
    )
    rig.pending_visit = visit.visit_id  # type: ignore[attr-defined]


def test_wealth_manager_records_an_outcome(rig: Rig) -> None:
    wealth = rig.show("TAB-W1")
    visit_id = rig.pending_visit  # type: ignore[attr-defined]
    rig.until(lambda: _visible(wealth.view, visit_id), "handed-to row")
    tap_row(rig, wealth.view, visit_id)
    rig.until(
        lambda: (
            wealth.tablet.state.brief is not None and wealth.tablet.state.brief.visit_id == visit_id
        ),
        "brief",
    )
    brief = wealth.tablet.state.brief
    assert brief is not None
    assert brief.leads[0].talking_points, "a wealth manager sees the talking points"
    assert any("maturing" in n.text for n in brief.notes)
    lead_id = brief.leads[0].lead_id
    key = f"outcome:{lead_id}:accepted"
    rig.until(lambda: key in wealth.view.buttons, "outcome buttons")
    check_touch_targets(wealth.view)
    rig.shot(SHOTS / "tablet-advisor.png")
    press(rig, wealth.view, key)
    rig.until(lambda: wealth.tablet.message == "已记录结果", "outcome recorded")
    events = rig.hub.hub.stream.log.since(0, 1000)  # type: ignore[union-attr]
    assert any(e.kind == "lead_outcome" and e.data["lead_id"] == lead_id for e in events)


def test_teller_calls_next_and_finishes(rig: Rig) -> None:
    counter = rig.device("CTR-1", kind="counter")
    rig.login("CTR-1", "t1")
    assert counter.tablet.screen == "counter"
    walk_in = rig.hub.arrive(None, service="cash")["ticket"]
    press(rig, counter.view, "call_next")
    rig.until(lambda: counter.tablet.state.serving is not None, "ticket called")
    assert counter.tablet.state.serving.number == walk_in["number"]
    rig.until(lambda: counter.tablet.state.brief is not None, "brief of the served customer")
    rig.until(lambda: walk_in["number"] in counter.view.screen.serving_text, "serving shown")
    check_touch_targets(counter.view)
    rig.shot(SHOTS / "tablet-counter.png")
    press(rig, counter.view, "recall")
    rig.until(lambda: not counter.tablet.busy, "recalled")
    assert counter.tablet.state.serving is not None
    press(rig, counter.view, "finish")
    rig.until(lambda: counter.tablet.state.serving is None, "finished")
    assert counter.tablet.state.brief is None
    events = rig.hub.hub.stream.log.since(0, 1000)  # type: ignore[union-attr]
    assert any(e.kind == "finished" and e.data["ticket"] == walk_in["number"] for e in events)
    counter.tablet.logout()


def _tickets(device: Device) -> list[str]:
    return [v.ticket for v in device.tablet.state.board.visits.values()]


def test_reconnect_after_a_drop_and_a_hub_restart_without_duplicates(rig: Rig) -> None:
    lobby = rig.show("TAB-LM1")
    tablet = lobby.tablet
    # Wi-Fi drop: the hub closes the tablet's connections; arrivals happen meanwhile.
    rig.hub.drop_connections("TAB-LM1")
    missed = [rig.hub.arrive(None, service="account")["ticket"]["number"] for _ in range(3)]
    rig.until(lambda: all(n in _tickets(lobby) for n in missed), "missed arrivals after the drop")
    tickets = _tickets(lobby)
    assert len(tickets) == len(set(tickets)), "no duplicates"
    # Hub restart: staff sessions live only in the hub's memory, so the tablet asks for the PIN
    # again, and the list after login holds everything, once.
    rig.hub.stop()
    rig.until(lambda: not tablet.state.connected or tablet.screen == "login", "link lost")
    rig.until(lambda: lobby.view.drawn_screen == "reconnecting", "reconnecting notice")
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-reconnecting.png")
    rig.hub.start()
    during = [rig.hub.arrive(None, service="cash")["ticket"]["number"] for _ in range(2)]
    try:
        rig.until(lambda: tablet.screen == "login", "asked to log in again", timeout_s=30)
    except AssertionError:
        stream = tablet.stream
        raise AssertionError(
            f"msg={tablet.message!r} connected={tablet.state.connected} busy={tablet.busy}"
            f" probing={tablet._probing} stream={stream and stream.connected}"
        ) from None
    assert tablet.state.board.visits == {}  # forgotten with the session
    rig.login("TAB-LM1", "lm1")
    rig.until(
        lambda: all(n in _tickets(lobby) for n in missed + during), "everything after restart"
    )
    later = rig.hub.arrive(None, service="cash")["ticket"]["number"]
    rig.until(lambda: later in _tickets(lobby), "live again")
    tickets = _tickets(lobby)
    assert len(tickets) == len(set(tickets)), "no duplicates"
    rig.until(
        lambda: all(_visible(lobby.view, v.visit_id) for v in tablet.state.board.waiting()[:10]),
        "drawn",
    )
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-reconnect.png")


def test_logout_clears_memory_and_screen(rig: Rig) -> None:
    lobby = rig.show("TAB-LM1")
    salutations = {
        v.salutation_zh for v in lobby.tablet.state.board.visits.values() if v.salutation_zh
    }
    assert salutations
    press(rig, lobby.view, "logout")
    rig.until(
        lambda: lobby.tablet.screen == "login" and lobby.view.drawn_screen == "login", "login"
    )
    state = lobby.tablet.state
    assert state.session is None
    assert not state.board.visits
    assert state.brief is None
    texts = [getattr(w, "text", "") for w in lobby.view.walk()]
    assert not any(s in t for s in salutations for t in texts)
    rig.login("TAB-LM1", "lm1")


def test_revoked_device_is_logged_out_and_wiped(rig: Rig) -> None:
    lobby = rig.show("TAB-LM1")
    store = lobby.tablet.store
    assert store.enrolled
    rig.hub.revoke("TAB-LM1")
    tablet = lobby.tablet
    try:
        rig.until(lambda: tablet.wiped, "wiped after revocation", timeout_s=30)
    except AssertionError:
        raise AssertionError(
            f"msg={tablet.message!r} screen={tablet.screen} connected={tablet.state.connected}"
            f" busy={tablet.busy} probing={tablet._probing} failures={list(tablet.failures)}"
        ) from None
    rig.until(lambda: lobby.view.drawn_screen == "revoked", "revoked notice")
    assert not store.key_path.exists()
    assert not store.cert_path.exists()
    assert lobby.tablet.state.session is None
    assert not lobby.tablet.state.board.visits
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-revoked.png")
    press(rig, lobby.view, "reenrol")
    rig.until(lambda: lobby.view.drawn_screen == "setup", "enrolment form again")
    check_touch_targets(lobby.view)
    rig.shot(SHOTS / "tablet-setup.png")


def test_a_long_list_keeps_only_the_rows_on_screen(rig: Rig) -> None:
    from tablet.app import TabletView
    from tablet.controller import Tablet
    from tablet.device import DeviceStore
    from tablet.state import StaffSession

    tablet = Tablet(DeviceStore(ROOT / "apps" / "LONG1"))
    rows = [
        {"visit_id": f"v{i}", "ticket": {"number": f"A{i:03d}", "service": "cash"}}
        for i in range(200)
    ]
    tablet.state.session = StaffSession("lm9", "lobby_manager", "测试", "-")
    tablet.state.board.load(rows, 0)
    tablet.state.connected, tablet.screen = True, "lobby"
    view = TabletView(tablet)
    rig.devices["LONG1"] = Device(tablet, view)
    rig.show("LONG1")
    view.tick()
    rig.until(lambda: view.drawn_screen == "lobby" and _visible(view, "v0"), "first rows")
    listed = view.screen.visit_list
    assert len(listed.data) == 200
    assert len(listed.layout_manager.children) < 20, "rows are recycled, not one per customer"
    listed.scroll_y = 0
    rig.until(lambda: _visible(view, "v199"), "last row after scrolling")
    check_touch_targets(view)
    tablet.state.clear()
