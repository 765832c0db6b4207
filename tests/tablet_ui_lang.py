# ruff: noqa: F811  (pytest fixtures imported from the shared rig)
"""The language toggle switches every screen live and is remembered; every screen fits at the
tablet sizes (1280×800 and 2048×1536 at density 2, both ways round) without clipped text,
overlapping controls or targets under 48 dp. Run in the child process of test_tablet_ui."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.tablet_ui_scenarios import (
    ROOT,
    SHOTS,
    Rig,
    check_touch_targets,
    harness,  # noqa: F401  (fixture)
    rig,  # noqa: F401  (fixture)
    tap_row,
)

# (width, height, density): the two tablet classes, landscape and portrait.
SIZES = [(1280, 800, 1.0), (800, 1280, 1.0), (2048, 1536, 2.0), (1536, 2048, 2.0)]
STATIC = ("setup", "login", "reconnecting", "revoked")
WORK = ("lobby", "advisor", "counter")
SHOWCASE = ("compare", "present", "present+pin")  # the product screens; the PIN pad open
CATALOGUE = ("catalogue", "product", "article")
REPORT = ("report", "report+staff")  # the lobby manager's report; the branch manager's, staff table


def _language_setting(rig: Rig, name: str) -> Any:
    store = rig.devices[name].tablet.store
    return json.loads((store.root / "settings.json").read_text("utf-8")).get("language")


def test_the_toggle_switches_the_shown_labels_live_and_back(rig: Rig) -> None:
    device = rig.device("LANG-1")
    view = device.view
    rig.until(lambda: "login" in view.buttons, "login form")
    login = view.buttons["login"]
    assert (login.text, view.buttons["language"].text) == ("登录", "English")
    rig.harness.tap(view.buttons["language"])
    rig.until(lambda: login.text == "Log in", "the login button in English")
    assert view.buttons["language"].text == "中文"
    assert _language_setting(rig, "LANG-1") == "en"
    from tablet.app import TabletView

    assert TabletView(device.tablet).language == "en", "the next start opens in English"
    rig.shot(SHOTS / "tablet-login-en.png")
    rig.harness.tap(view.buttons["language"])
    rig.until(lambda: login.text == "登录", "the login button back in Chinese")
    assert _language_setting(rig, "LANG-1") == "zh_CN"


def test_the_work_screen_and_its_brief_switch_live(rig: Rig) -> None:
    device = rig.login("LANG-1", "lm1")
    view = device.view
    customer = rig.vip()
    rig.hub.arrive(customer["cards"][0]["pan"])
    rig.until(lambda: bool(device.tablet.state.board.waiting()), "an arrival")
    visit = device.tablet.state.board.waiting()[0]
    rig.until(lambda: view.row_for(visit.visit_id) is not None, "row drawn")
    tap_row(rig, view, visit.visit_id)
    rig.until(lambda: "claim" in view.buttons, "the brief's buttons")
    assert view.buttons["claim"].text == "认领客户"
    view.show_language("en")
    rig.until(
        lambda: "claim" in view.buttons and view.buttons["claim"].text == "Claim customer", "en"
    )
    assert view.ids.logout.text == "Log out"
    rig.shot(SHOTS / "tablet-lobby-en.png")
    view.show_language("zh_CN")
    rig.until(lambda: "claim" in view.buttons and view.buttons["claim"].text == "认领客户", "zh")


@contextmanager
def _density(value: float) -> Iterator[None]:
    from kivy.metrics import Metrics

    before = Metrics.density
    Metrics.density = value
    try:
        yield
    finally:
        Metrics.density = before


def _rect(w: Any) -> tuple[float, float, float, float]:
    x, y = w.to_window(*w.pos)
    return x, y, x + w.width, y + w.height


def _shown(w: Any) -> bool:
    while w is not None and w.parent is not w:  # the window is its own parent
        if getattr(w, "opacity", 1) == 0:
            return False
        w = w.parent
    return True


def _stage_products(tablet: Any) -> None:
    """Three products compared and one presented, from the synthetic catalogue."""
    from tests.tablet_ui_present import product_source

    source, codes = product_source()
    tablet.showcase.products = source
    tablet.showcase.compared, tablet.showcase.presented = codes[:3], codes[:1]


def _reports(rig: Rig) -> dict[str, Any]:
    """Today's report as the lobby manager gets it and as the branch manager does."""
    from branch_hub.client import HubClient
    from branch_hub.security.errors import StaffError
    from tests.support.tablethub import PIN

    with contextlib.suppress(StaffError):
        rig.hub.hub.security.staff.add("bm-lang", "网点负责人 Branch Lang", "branch_admin", PIN)  # type: ignore[union-attr]
    if "LANG-BM" not in rig.devices:
        rig.device("LANG-BM")
    boss = HubClient(rig.hub.url, rig.devices["LANG-BM"].tablet.store.tls())
    try:
        boss.login("bm-lang", PIN)
        with_staff = boss.branch_report("day")
    finally:
        boss.close()
    lobby = rig.devices["LANG-1"].tablet._client().branch_report("day")
    return {"report": lobby, "report+staff": with_staff}


def _show(view: Any, name: str) -> None:
    screen = name.split("+")[0]
    view.manager.current = screen
    view.drawn_screen = screen
    view.presenting = screen == "present"
    view.screen.refresh()
    if name == "present+pin":
        view.screen.open_pad()


def _faults(view: Any) -> list[str]:
    """Text bigger than its box, and sibling controls that overlap."""
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.label import Label
    from kivy.uix.textinput import TextInput

    faults = []
    for w in view.walk():
        if not _shown(w):
            continue
        if isinstance(w, Label) and w.text and not w.shorten:
            tw, th = w.texture_size
            if tw > w.width + 1 or th > w.height + 1:
                faults.append(f"{type(w).__name__} {w.text!r}: {w.texture_size} > {w.size}")
        controls = [c for c in w.children if isinstance(c, ButtonBehavior | TextInput)]
        for i, a in enumerate(controls):
            for b in controls[i + 1 :]:
                ax0, ay0, ax1, ay1 = _rect(a)
                bx0, by0, bx1, by1 = _rect(b)
                if min(ax1, bx1) - max(ax0, bx0) > 1 and min(ay1, by1) - max(ay0, by0) > 1:
                    faults.append(f"{getattr(a, 'text', a)!r} overlaps {getattr(b, 'text', b)!r}")
    return faults


def _catalogue_open(tablet: Any) -> None:
    """A catalogue on the tablet, a lead's three products open and an article picked."""
    from datetime import date

    from tablet.catalogue_nav import ProductContext
    from tablet.catalogue_source import IndexFolderSource
    from tests.support.catalogue_folder import build_catalogue_folder

    folder = ROOT / "catalogue-lang"
    if not folder.exists():
        build_catalogue_folder(folder)
    tablet.catalogue = IndexFolderSource(folder)
    search = tablet.catalogue.search()
    codes = [hit.code for hit in search.products("", date.today(), ("fund",), limit=3)]
    points = ("每月500元起投，分散入市时点", "可在手机银行随时调整或暂停")
    assessment = {"level": "C2", "expires": "2099-01-01"}
    tablet.product_context = ProductContext(
        codes, codes[0], "基金定投", points, assessment=assessment, from_lead=True
    )
    tablet.article = search.articles("", limit=1)[0]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_screen_fits_at_every_size(rig: Rig, language: str) -> None:
    from tablet.app import TabletView

    tablet = rig.devices["LANG-1"].tablet
    assert tablet.state.brief is not None, "the work screens show a brief"
    _stage_products(tablet)
    reports = _reports(rig)
    faults: list[str] = []
    for width, height, density in SIZES:
        with _density(density):
            view = TabletView(tablet)  # dp and sp are read when the widgets are built
            view.show_language(language)
            rig.harness.show(view, (width, height))
            view.tick()
            for name in STATIC + WORK + SHOWCASE + CATALOGUE + REPORT:
                _catalogue_open(tablet)
                tablet.state.report = reports.get(name)
                _show(view, name)
                rig.harness.frames(4)
                if name == "catalogue":
                    rig.until(lambda v=view: v.screen.settled, "the catalogue listed")
                faults += [f"{width}x{height} {language} {name}: {f}" for f in _faults(view)]
                check_touch_targets(view)
                if name in ("lobby", "product") and height > width and language == "zh_CN":
                    tag = "" if density == 1 else "@2048"
                    shot = "lobby" if name == "lobby" else "lead-product"
                    rig._export(view, SHOTS / f"tablet-{shot}-portrait{tag}.png")
        view.show_language("zh_CN")
    tablet.state.report = None
    rig.show("LANG-1")
    assert not faults, "\n".join(faults[:20])


def test_the_language_is_kept_in_settings_only(rig: Rig) -> None:
    settings = (ROOT / "apps" / "LANG-1" / "settings.json").read_text("utf-8")
    assert set(json.loads(settings)) <= {
        "hub_url",
        "ca_fingerprint",
        "device_id",
        "kind",
        "language",
    }


def test_the_layout_check_sees_clipped_text_and_overlapping_controls(rig: Rig) -> None:
    from kivy.uix.boxlayout import BoxLayout
    from kivy.uix.button import Button
    from kivy.uix.floatlayout import FloatLayout
    from kivy.uix.label import Label

    box = FloatLayout(size=(400, 400))
    box.add_widget(Label(text="一段放不下的很长的文字" * 4, size_hint=(None, None), size=(40, 20)))
    box.add_widget(Button(text="a", size_hint=(None, None), size=(100, 100), pos=(0, 0)))
    box.add_widget(Button(text="b", size_hint=(None, None), size=(100, 100), pos=(50, 50)))
    holder = BoxLayout()
    holder.add_widget(box)
    rig.harness.show(holder, (1280, 800))
    faults = _faults(holder)
    rig.show("LANG-1")
    assert any("一段" in f for f in faults), faults
    assert any("overlaps" in f for f in faults), faults
