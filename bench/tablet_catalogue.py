"""Tablet under Xvfb against a real hub: a tap on a lead's product -> its product screen drawn.

`python -m bench.tablet_catalogue [--taps 60] [--products 1000 --articles 1000]` prints one JSON
object as the last line. A lobby manager's tablet shows a priority customer's brief; each round
taps the lead's "view product" button and runs frames until the product screen has built its
content and the frame after that is drawn (the figure), then taps "back". The baseline, measured
in the same run the same way, is that "back": a switch to a screen already drawn. The lead has no
hub-given products, so each tap also searches the catalogue for the lead's product line (on the UI
thread, as the app does). `tap_to_content_built` is the part until the screen's widgets are
built (the rest is layout and drawing the frame: llvmpipe renders on the CPU under Xvfb).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(name: str, values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        f"{name}_ms_p50": round(statistics.median(ms), 2),
        f"{name}_ms_p95": round(_pct(ms, 0.95), 2),
        f"{name}_ms_max": round(max(ms), 2),
    }


def _open_tablet(harness: Any, hub: Any, root: Path, folder: Path) -> tuple[Any, Any]:
    """Enrol, log a lobby manager in, put the catalogue on the tablet."""
    from kivy.clock import Clock

    from branch_hub.pki import ca_fingerprint
    from tablet.app import TabletView
    from tablet.catalogue_source import IndexFolderSource
    from tablet.controller import Tablet
    from tablet.device import DeviceStore
    from tests.support.tablethub import PIN

    tablet = Tablet(DeviceStore(root / "app"), idle_timeout_s=10**9, loop=harness.use_asyncio())
    tablet.catalogue = IndexFolderSource(folder)
    view = TabletView(tablet)
    harness.show(view, (1280, 800))
    Clock.schedule_interval(view.tick, 0)
    tablet.enrol(hub.url, hub.enrolment_code("BENCH-CAT"), ca_fingerprint(hub.tls.ca.cert)[:16])
    harness.until(lambda: tablet.screen == "login", 30, "enrolled")
    tablet.login("lm1", PIN)
    harness.until(lambda: tablet.state.connected and view.drawn_screen == "lobby", 30, "lobby")
    return tablet, view


def _open_brief(harness: Any, hub: Any, rows: list[dict[str, Any]], tablet: Any, view: Any) -> str:
    """A priority customer with leads arrives; their brief opens; returns the button's key."""
    customer = next(r for r in rows if r["tier"] in ("wealth", "private") and r["leads"])
    hub.arrive(customer["cards"][0]["pan"])
    harness.until(lambda: bool(tablet.state.board.waiting()), 30, "arrival")
    tablet.open_brief(tablet.state.board.waiting()[0].visit_id)
    harness.until(lambda: tablet.state.brief is not None, 30, "brief")
    key = f"product:{tablet.state.brief.leads[0].lead_id}"
    harness.until(lambda: key in view.buttons, 30, "the lead's product button")
    return key


def _timed_tap(harness: Any, button: Any, done: Callable[[], bool]) -> tuple[float, float]:
    """(release, end): a tap's release and the end of the frame after `done()` first holds."""
    from kivy.tests.common import UnitTestTouch

    x, y = button.to_window(*button.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    harness.frame()
    start = time.perf_counter()
    touch.touch_up()
    deadline = start + 10
    while not done():
        if time.perf_counter() > deadline:
            raise AssertionError("the screen did not come")
        harness.frame()
    harness.frame()  # the frame that shows what was laid out
    return start, time.perf_counter()


def _rounds(harness: Any, view: Any, key: str, taps: int) -> dict[str, list[float]]:
    product = view.manager.get_screen("product")
    opened: list[float] = []
    built: list[float] = []
    back: list[float] = []
    frames: list[float] = []
    for _ in range(taps):
        harness.frames(3)
        button = view.buttons[key]
        view.screen.brief_card.scroll.scroll_to(button, animate=False)
        harness.frames(2)
        mark: float = product.drawn_at

        def drawn(since: float = mark) -> bool:
            return bool(view.drawn_screen == "product" and product.drawn_at > since)

        start, end = _timed_tap(harness, button, drawn)
        opened.append(end - start)
        built.append(product.drawn_at - start)
        harness.frames(2)
        start, end = _timed_tap(harness, view.buttons["back"], lambda: view.drawn_screen == "lobby")
        back.append(end - start)
        start = time.perf_counter()
        harness.frame()
        frames.append(time.perf_counter() - start)
    return {"open": opened, "built": built, "back": back, "frame": frames}


def _measure(args: argparse.Namespace) -> dict[str, Any]:
    from branch_hub.client.fonts import find_cjk_font
    from tablet.app import use_font
    from tests.support.catalogue_folder import build_catalogue_folder
    from tests.support.kivy_harness import Harness
    from tests.support.tablethub import make_hub

    use_font(find_cjk_font())
    root = Path(tempfile.mkdtemp(prefix="bench-tablet-catalogue-"))
    build_catalogue_folder(root / "catalogue", args.products, args.articles)
    harness = Harness()
    hub, rows = make_hub(root / "hub", customers=20)
    try:
        tablet, view = _open_tablet(harness, hub, root, root / "catalogue")
        key = _open_brief(harness, hub, rows, tablet, view)
        times = _rounds(harness, view, key, args.taps)
        tablet.close()
    finally:
        hub.stop()
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.tablet_catalogue")
    parser.add_argument("--taps", type=int, default=60, help="taps on the lead's product")
    parser.add_argument("--products", type=int, default=1000, help="products in the catalogue")
    parser.add_argument("--articles", type=int, default=1000, help="articles in the catalogue")
    args = parser.parse_args(argv)
    from tests.support.kivy_harness import prepare_kivy_env, start_xvfb

    xvfb = start_xvfb("1280x800x24")
    try:
        prepare_kivy_env()
        from bench.tablet import _production_graphics

        _production_graphics()
        times = _measure(args)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
    opened, back = (
        _summary("tap_to_product", times["open"]),
        _summary("baseline_switch", times["back"]),
    )
    result = {
        "bench": "tablet_catalogue",
        "taps": args.taps,
        "products": args.products,
        "articles": args.articles,
        **opened,
        **back,
        **_summary("tap_to_content_built", times["built"]),
        **_summary("idle_frame", times["frame"]),
        "product_over_switch_p50": round(
            opened["tap_to_product_ms_p50"] / max(back["baseline_switch_ms_p50"], 1e-3), 1
        ),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
