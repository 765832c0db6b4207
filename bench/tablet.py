"""Tablet figures under Xvfb against a real hub: push -> visible latency, cold start, memory.

`python -m bench.tablet [--arrivals 100] [--hours 8 --per-hour 300]` prints one JSON object as
the last line. Baselines from the same run: the wire time (hub emit -> message in the tablet's
inbox) for the latency, and a bare `python -c pass` for the cold start.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.tablet_frames import Stages, scroll_figures, split, summarise

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _arrival(number: str, priority: bool) -> dict[str, Any]:
    return {
        "visit_id": secrets.token_hex(8),
        "ticket": {
            "id": f"bench-{number}",
            "number": number,
            "service": "cash",
            "issued_at": datetime.now(UTC).isoformat(),
        },
        "tier": "wealth" if priority else None,
        "priority": priority,
        "salutation_zh": "王先生" if priority else None,
        "walk_in": not priority,
    }


def _production_graphics() -> None:
    """Kivy's graphics settings as `tablet.cli` makes them (read when the window is made)."""
    from tablet.cli import MULTISAMPLES

    os.environ["KCFG_GRAPHICS_MULTISAMPLES"] = str(MULTISAMPLES)


def cold_start_child() -> None:
    """Child mode: build the app window and report when the first frame is drawn."""
    from tests.support.kivy_harness import prepare_kivy_env

    prepare_kivy_env()
    _production_graphics()
    from branch_hub.client.fonts import find_cjk_font
    from tablet.app import TabletView, use_font
    from tablet.controller import Tablet
    from tablet.device import DeviceStore

    use_font(find_cjk_font())
    from kivy.base import EventLoop

    EventLoop.ensure_window()
    tablet = Tablet(DeviceStore(Path(tempfile.mkdtemp())))
    view = TabletView(tablet)
    EventLoop.window.add_widget(view)
    view.tick()
    EventLoop.idle()
    print("READY", flush=True)


def cold_start(runs: int = 3) -> tuple[float, float]:
    """Median seconds to the first drawn frame, and of a bare interpreter start."""
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_HOME=tempfile.mkdtemp())
    app, bare = [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "bench.tablet", "--cold-start-child"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        if "READY" not in out:
            raise RuntimeError("the app did not draw its first frame")
        app.append(time.perf_counter() - start)
    return statistics.median(app), statistics.median(bare)


def _open_tablet(harness: Any, hub: Any, pin: str, app_dir: Path) -> tuple[Any, Any]:
    """Enrol the app with the hub, log a lobby manager in and wait for the live stream."""
    from kivy.clock import Clock

    from branch_hub.pki import ca_fingerprint
    from tablet.app import TabletView
    from tablet.controller import Tablet
    from tablet.device import DeviceStore

    store = DeviceStore(app_dir)
    tablet = Tablet(store, idle_timeout_s=10**9, loop=harness.use_asyncio())
    tablet.record_times = True
    view = TabletView(tablet)
    harness.show(view, (1280, 800))
    Clock.schedule_interval(view.tick, 0)
    tablet.enrol(hub.url, hub.enrolment_code("BENCH1"), ca_fingerprint(hub.tls.ca.cert)[:16])
    harness.until(lambda: tablet.screen == "login", 30, "enrolled")
    tablet.login("lm1", pin)
    harness.until(lambda: tablet.state.connected, 30, "live")
    harness.until(lambda: view.drawn_screen == "lobby", 30, "lobby screen")
    return tablet, view


def _fill_board(harness: Any, hub: Any, tablet: Any, rows: int) -> list[str]:
    """Put `rows` customers in the lobby before timing (the list the staff scroll)."""
    emit = hub.hub.stream.emit
    live = []
    for i in range(rows):
        data = _arrival(f"F{i:03d}", priority=i % 9 == 0)
        hub.call(emit("arrival", data))
        live.append(data["visit_id"])
    harness.until(lambda: len(tablet.state.board.waiting()) >= rows, 30, "board filled")
    harness.frames(3)
    return live


def _wait_drawn(frame: Any, stages: Stages, vid: str, view: Any, timeout_s: float = 10.0) -> None:
    """Run frames (no sleeps between them, as the app does) until the row's frame is drawn."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        laid = view.row_times.get(vid)
        if laid is not None and stages.after(stages.flips, laid) is not None:
            return
        frame()
    raise AssertionError(f"row {vid} not drawn within {timeout_s}s")


def _time_arrivals(
    harness: Any, hub: Any, tablet: Any, view: Any, count: int, live: list[str]
) -> list[dict[str, float]]:
    """Push arrivals one at a time into a list of `len(live)` rows; return each one's steps."""
    emit = hub.hub.stream.emit
    stages = view.bench_stages
    parts = []
    rows = len(live)
    for i in range(count):
        data = _arrival(f"A{i:03d}", priority=i % 5 == 0)
        vid = data["visit_id"]
        harness.frames(2)  # arrivals come at any moment of a frame, not right after one
        time.sleep((i % 7) * 0.0024)
        emitted = time.perf_counter()
        event = hub.call(emit("arrival", data))
        _wait_drawn(harness.frame, stages, vid, view)
        received = tablet.event_times.pop(event.seq, emitted)
        parts.append(split(stages, emitted, received, vid, view.row_times.pop(vid)))
        live.append(vid)
        while len(live) > rows:  # keep the list at its length
            hub.call(emit("finished", {"visit_id": live.pop(0)}))
    return parts


def _simulated_day(
    harness: Any, hub: Any, tablet: Any, total: int
) -> tuple[list[tuple[int, float]], float]:
    """Arrivals, calls and finishes as fast as the UI keeps up; return RSS samples and seconds."""
    emit = hub.hub.stream.emit
    tablet.record_times = False
    rss_samples: list[tuple[int, float]] = []
    start_day = time.perf_counter()
    waiting: list[str] = []
    last = 0

    def caught_up() -> bool:
        # Every event emitted so far applied (an empty inbox is not enough: on the app's loop,
        # messages still in the socket have not reached it yet).
        return bool(tablet.inbox.empty() and tablet.state.board.last_seq >= last)

    for i in range(total):
        data = _arrival(f"B{i % 1000:03d}", priority=i % 7 == 0)
        last = hub.call(emit("arrival", data)).seq
        waiting.append(data["visit_id"])
        if len(waiting) > 25:
            done = waiting.pop(0)
            hub.call(emit("called", {"visit_id": done, "counter_id": "C1", "ticket": "x"}))
            last = hub.call(emit("finished", {"visit_id": done})).seq
        if i % 10 == 0:
            harness.frame()
        if i % max(1, total // 20) == 0:
            harness.until(caught_up, 30, "caught up")
            rss_samples.append((i, _rss_mb()))
    harness.until(caught_up, 30, "caught up")
    harness.frame()
    rss_samples.append((total, _rss_mb()))
    return rss_samples, time.perf_counter() - start_day


def _figures(
    args: argparse.Namespace,
    parts: list[dict[str, float]],
    frames: dict[str, Any],
    starts: tuple[float, float],
    day: tuple[list[tuple[int, float]], float, int],
) -> dict[str, Any]:
    steps = summarise(parts)
    cold_s, bare_s = starts
    rss_samples, day_s, board_size = day
    total = int(args.hours * args.per_hour)
    warm = rss_samples[len(rss_samples) // 4][1]  # after warm-up (caches, first textures)
    return {
        "bench": "tablet",
        "arrivals_timed": args.arrivals,
        "rows": args.rows,
        "visible_ms_p50": steps["total_ms_p50"],
        "visible_ms_p95": steps["total_ms_p95"],
        "visible_ms_max": steps["total_ms_max"],
        "visible_over_wire_p50": round(steps["total_ms_p50"] / max(steps["wire_ms_p50"], 1e-3), 1),
        "steps": steps,
        **frames,
        "cold_start_s": round(cold_s, 2),
        "bare_python_s": round(bare_s, 3),
        "cold_over_bare": round(cold_s / bare_s, 1),
        "day_arrivals": total,
        "day_events": total + 2 * max(0, total - 25),
        "day_wall_s": round(day_s, 1),
        "board_visits_end": board_size,
        "rss_mb_after_warmup": round(warm, 1),
        "rss_mb_end": round(rss_samples[-1][1], 1),
        "rss_growth_mb_after_warmup": round(rss_samples[-1][1] - warm, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _measure(harness: Any, hub: Any, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Open the tablet; time arrivals into a list of `--rows`; scroll it; run the day."""
    from tests.support.tablethub import PIN

    tablet, view = _open_tablet(harness, hub, PIN, root / "app")
    view.bench_stages = Stages()
    view.bench_stages.install(tablet, view, harness.window)
    live = _fill_board(harness, hub, tablet, args.rows)
    parts = _time_arrivals(harness, hub, tablet, view, args.arrivals, live)
    emit = hub.hub.stream.emit

    def burst() -> None:
        for i in range(20):
            hub.call(emit("arrival", _arrival(f"S{i:03d}", priority=i % 6 == 0)))

    visit_list = view.manager.get_screen("lobby").visit_list
    frames = scroll_figures(harness.frame, harness.window, view.bench_stages, visit_list, burst)
    day = _simulated_day(harness, hub, tablet, int(args.hours * args.per_hour))
    board_size = len(tablet.state.board.visits)
    tablet.close()
    return {"parts": parts, "frames": frames, "day": (*day, board_size)}


def main(argv: list[str] | None = None) -> int:
    """Run the tablet benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench.tablet")
    parser.add_argument("--arrivals", type=int, default=100, help="arrivals timed one by one")
    parser.add_argument("--hours", type=float, default=8.0, help="simulated day length")
    parser.add_argument("--per-hour", type=int, default=300, help="arrivals per simulated hour")
    parser.add_argument("--rows", type=int, default=200, help="customers in the list when timed")
    parser.add_argument("--cold-start-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_start_child:
        cold_start_child()
        return 0

    from tests.support.kivy_harness import Harness, prepare_kivy_env, start_xvfb

    xvfb = start_xvfb("1280x800x24")
    try:
        starts = cold_start()
        prepare_kivy_env()
        _production_graphics()
        from branch_hub.client.fonts import find_cjk_font
        from tablet.app import use_font
        from tests.support.tablethub import make_hub

        use_font(find_cjk_font())
        harness = Harness()
        root = Path(tempfile.mkdtemp(prefix="bench-tablet-"))
        hub, _ = make_hub(root, customers=10)
        if hub.hub is None:
            raise RuntimeError("hub not running")
        try:
            got = _measure(harness, hub, root, args)
        finally:
            hub.stop()
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
    print(json.dumps(_figures(args, got["parts"], got["frames"], starts, got["day"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
