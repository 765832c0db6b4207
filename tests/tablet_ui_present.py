# ruff: noqa: F811  (pytest fixtures imported from the shared rig)
"""Comparing products and presenting them to the customer, under Xvfb against a real hub.

Run in the child process of tests/test_tablet_ui.py. The products come from an index built
from the synthetic HQ catalogue (the tablet's verified copy builds the same index); the PIN is
checked by the hub's pin-check, with its real PIN hashes and lockouts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from kivy.tests.common import UnitTestTouch

from tests.support.tablethub import PIN
from tests.tablet_ui_scenarios import (
    ROOT,
    SHOTS,
    Device,
    Rig,
    check_touch_targets,
    harness,  # noqa: F401  (fixture)
    press,
    rig,  # noqa: F401  (fixture)
    tap_row,
)

WRONG_PIN = "135799"


def product_source() -> tuple[Any, list[str]]:
    """A product source over the synthetic catalogue, and four codes on sale today."""
    from branch_hub.client.catalogue_index import build_index
    from branch_hub.client.catalogue_search import CatalogueSearch
    from sync.catalogue_synth import generate_catalogue
    from tablet.product_facts import SearchSource

    today = datetime.now(UTC).date()
    catalogue = generate_catalogue(24, 4, seed=11, as_of=today)
    products = [p.to_dict() for p in catalogue.products if p.on_sale(today)]
    path = ROOT / "catalogue-present" / "index.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        build_index(path, products, [a.to_dict() for a in catalogue.articles])
    source = SearchSource(CatalogueSearch(path), catalogue.assets.get)
    by_category: dict[str, str] = {}
    for p in products:
        by_category.setdefault(p["category"], p["code"])
    codes = list(by_category.values())[:4]
    assert len(codes) == 4, "the synthetic catalogue spans four categories"
    return source, codes


def _record(view: Any, code: str) -> Any:
    """A product's record in the tablet's own catalogue copy."""
    search = view.tablet.catalogue.search()
    assert search is not None
    return search.product(code)


def _ready(rig: Rig, name: str, staff_id: str) -> tuple[Device, list[str]]:
    device = rig.devices.get(name) or rig.device(name)
    rig.login(name, staff_id) if device.tablet.state.session is None else rig.show(name)
    keeper = device.tablet.catalogue_keeper
    rig.until(lambda: keeper.copy.sequence is not None, "the tablet's verified catalogue copy")
    device.view.products = None  # the tablet's own copy, pulled through the hub's mirror
    search = keeper.search()
    assert search is not None
    codes: list[str] = []
    for category in ("deposit", "wealth", "fund", "insurance", "loan", "card", "forex", "pension"):
        codes += [hit.code for hit in search.products("", date.today(), (category,), limit=1)]
    assert len(codes) >= 4, "the hub's catalogue spans four categories"
    return device, codes[:4]


def _texts(view: Any) -> list[str]:
    return [str(getattr(w, "text", "")) for w in view.walk()]


def _columns(view: Any) -> list[Any]:
    return list(view.screen.columns) if view.drawn_screen == "compare" else []


def test_compare_two_then_three_refuse_a_fourth_and_remove_one(rig: Rig) -> None:
    device, codes = _ready(rig, "PRS-LM1", "lm1")
    view, tablet = device.view, device.tablet
    assert view.open_compare(codes[:2])
    rig.until(lambda: len(_columns(view)) == 2, "two products side by side")
    assert view.open_compare(codes[:3])
    rig.until(lambda: len(_columns(view)) == 3, "three products side by side")
    texts = _texts(view)
    for code in codes[:3]:
        record = _record(view, code)
        assert record["name_zh"] in texts
        assert record["disclaimer_zh"] in texts, "every product's disclaimer is shown"
    assert any("风险" in t for t in texts), "risk badges in Chinese"
    assert any(t.startswith("¥") or "起" in t for t in texts), "minimum amounts, zh-CN money"
    rig.harness.frames(3)
    check_touch_targets(view)
    rig.shot(SHOTS / "tablet-compare.png")

    assert not view.open_compare(codes), "a fourth product is refused"
    rig.until(lambda: "最多" in view.status_text, "the refusal line in Chinese")
    assert len(_columns(view)) == 3
    press(rig, view, f"remove:{codes[2]}")
    rig.until(lambda: len(_columns(view)) == 2, "a column removed")
    press(rig, view, "back")
    rig.until(lambda: view.drawn_screen == tablet.screen == "lobby", "back to the list")


def _open_vip_brief(rig: Rig, device: Device) -> Any:
    customer = rig.vip()
    ticket = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]
    board = device.tablet.state.board
    rig.until(lambda: any(v.ticket == ticket["number"] for v in board.visits.values()), "arrival")
    visit = next(v for v in board.visits.values() if v.ticket == ticket["number"])
    rig.until(lambda: device.view.row_for(visit.visit_id) is not None, "row drawn")
    tap_row(rig, device.view, visit.visit_id)
    rig.until(lambda: device.tablet.state.brief is not None, "the brief")
    brief = device.tablet.state.brief
    assert brief.leads, "a VIP with leads"
    return brief


def _staff_only(brief: Any, device: Device) -> list[str]:
    """Texts of the brief and the frame that must never face the customer."""
    session = device.tablet.state.session
    found = [brief.salutation_zh, brief.salutation_en, brief.masked_name, session.name]
    found += [p for lead in brief.leads for p in lead.talking_points]
    found += [n.text for n in brief.notes]
    return [t for t in found if t]


def _nothing_for_staff(view: Any, secrets: list[str]) -> None:
    from tablet.widgets import Chip, VisitRow

    texts = _texts(view)
    leaks = [s for s in secrets for t in texts if s in t]
    assert not leaks, f"staff-only text on the presentation: {leaks}"
    assert not view.ids.offer.text
    assert not view.banner_text
    assert not view.staff_line
    assert not any(isinstance(w, Chip | VisitRow) for w in view.walk()), "no tags, no customers"


def test_presenting_shows_only_product_facts(rig: Rig) -> None:
    device, codes = _ready(rig, "PRS-LM1", "lm1")
    view = device.view
    brief = _open_vip_brief(rig, device)
    secrets = _staff_only(brief, device)
    assert any(s in t for s in secrets for t in _texts(view)), "the brief is on the staff screen"
    assert view.open_presentation(codes[0])
    rig.until(lambda: view.drawn_screen == "present" and view.presenting, "presentation")
    rig.harness.frames(3)
    record = _record(view, codes[0])
    texts = _texts(view)
    assert record["name_zh"] in texts
    assert record["disclaimer_zh"] in texts
    assert all(f"•  {p}" in texts for p in record["selling_points_zh"])
    from kivy.uix.image import Image

    pictured = bool(record.get("image"))  # the verified copy's picture, drawn for the customer
    assert any(isinstance(w, Image) for w in view.screen.walk()) == pictured
    _nothing_for_staff(view, secrets)
    assert set(view.buttons) == {"leave"}, "no navigation but the way out"
    check_touch_targets(view)
    rig.shot(SHOTS / "tablet-presentation.png")
    rig.secrets = secrets  # type: ignore[attr-defined]


def test_an_arrival_while_presenting_waits_until_staff_leave(rig: Rig) -> None:
    device = rig.show("PRS-LM1")
    view, tablet = device.view, device.tablet
    assert view.drawn_screen == "present"
    customer = rig.vip(1)
    ticket = rig.hub.arrive(customer["cards"][0]["pan"])["ticket"]["number"]
    board = tablet.state.board
    rig.until(lambda: any(v.ticket == ticket for v in board.visits.values()), "arrival taken in")
    rig.harness.frames(4)
    assert not any(ticket in t for t in _texts(view)), "nothing of the arrival on show"
    _nothing_for_staff(view, [*rig.secrets, customer["name"]])  # type: ignore[attr-defined]

    press(rig, view, "leave")
    rig.until(lambda: "pin_ok" in view.buttons, "the PIN pad")
    for digit in WRONG_PIN:
        press(rig, view, f"pin_{digit}")
    press(rig, view, "pin_ok")
    pad = view.screen.pad
    rig.until(lambda: not pad.checking and pad.answer, "the hub's answer")
    assert view.drawn_screen == "present", "a wrong PIN stays"
    assert any("\u4e00" <= c <= "\u9fff" for c in pad.answer), pad.answer
    assert ticket not in view.banner_text
    check_touch_targets(view)
    rig._export(view, SHOTS / "tablet-presentation-pin.png")  # the pad is this view's alone
    for digit in PIN:
        press(rig, view, f"pin_{digit}")
    press(rig, view, "pin_ok")
    rig.until(lambda: view.drawn_screen == "lobby" and not view.presenting, "back to the list")
    rig.until(lambda: ticket in view.banner_text, "the arrival shown after leaving")
    visit = next(v for v in board.visits.values() if v.ticket == ticket)
    rig.until(lambda: view.row_for(visit.visit_id) is not None, "the arrival in the list")
    assert view.ids.logout.opacity == 1


def test_the_comparison_is_presented_and_left_with_the_staff_gesture(rig: Rig) -> None:
    device, codes = _ready(rig, "PRS-LM1", "lm1")
    view, tablet = device.view, device.tablet
    tablet.store.save_settings(presentation_exit="gesture")
    try:
        assert view.open_compare(codes[:2])
        rig.until(lambda: len(_columns(view)) == 2, "the comparison")
        press(rig, view, "present_all")
        rig.until(lambda: view.drawn_screen == "present", "the comparison presented")
        rig.harness.frames(3)
        assert view.buttons == {}, "no way out on screen in the gesture mode"
        _nothing_for_staff(view, rig.secrets)  # type: ignore[attr-defined]
        corner = view.screen.ids.corner
        now = [1000.0]
        corner.gesture.clock = lambda: now[0]
        x, y = corner.to_window(*corner.center)

        def touch(held_s: float) -> None:
            finger = UnitTestTouch(x, y)
            finger.touch_down()
            now[0] += held_s
            finger.touch_up()
            now[0] += 0.2
            rig.harness.frames(1)

        touch(2.0)  # a long press alone does nothing
        touch(0.1)
        touch(0.1)
        touch(2.0)  # two taps are not three
        assert view.drawn_screen == "present"
        for _ in range(3):
            touch(0.1)
        touch(2.0)
        rig.until(lambda: view.drawn_screen == "compare", "back to the comparison")
    finally:
        tablet.store.save_settings(presentation_exit="pin")
