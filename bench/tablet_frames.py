"""Where the tablet's arrival -> row drawn time goes, and its frame times while scrolling.

Helpers of `bench.tablet`: they wrap the view's steps from outside (nothing in the app records
times for the bench but the stream's receipt time), so the app runs its production code.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

FRAME_60HZ_S = 1 / 60
FRAME_30HZ_S = 1 / 30


def pct(values: list[float], q: float) -> float:
    """The q-quantile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Stages:
    """Times of each step between an arrival's emit and the frame that shows its row."""

    pumped: dict[str, float] = field(default_factory=dict)  # visit id -> applied to the state
    refreshes: list[tuple[float, float]] = field(default_factory=list)  # screen refresh spans
    draws: list[float] = field(default_factory=list)  # window on_draw (after layout)
    flips: list[float] = field(default_factory=list)  # window on_flip (frame drawn)

    def install(self, tablet: Any, view: Any, window: Any) -> None:
        """Wrap the controller's notice step and the lobby screen's refresh; watch the window."""
        apply_notice = tablet._apply_notice

        def timed_notice(notice: Any) -> None:
            apply_notice(notice)
            data = notice.data.get("data") if notice.kind == "message" else None
            if isinstance(data, dict) and isinstance(data.get("visit_id"), str):
                self.pumped.setdefault(data["visit_id"], time.perf_counter())

        tablet._apply_notice = timed_notice
        screen = view.manager.get_screen("lobby")
        refresh = screen.refresh

        def timed_refresh() -> None:
            start = time.perf_counter()
            refresh()
            self.refreshes.append((start, time.perf_counter()))

        screen.refresh = timed_refresh
        window.bind(on_draw=lambda *_: self.draws.append(time.perf_counter()))
        flip = window.flip

        def timed_flip() -> None:
            flip()  # software GL rasterises here: the frame is on screen when this returns
            self.flips.append(time.perf_counter())

        window.flip = timed_flip

    def after(self, times: list[float], moment: float) -> float | None:
        """The first of `times` at or after `moment`."""
        return next((t for t in times if t >= moment), None)

    def span(self, moment: float) -> tuple[float, float]:
        """The screen refresh that ran at `moment` (the one that set the row's data)."""
        return next(((s, e) for s, e in self.refreshes if s <= moment <= e), (moment, moment))


def split(
    stages: Stages, emitted: float, received: float, vid: str, laid: float
) -> dict[str, float]:
    """One arrival's time per step, in seconds (`laid`: when its row's data was built)."""
    pumped = stages.pumped.get(vid, received)
    start, end = stages.span(laid)
    draw = stages.after(stages.draws, end) or end
    flip = stages.after(stages.flips, draw) or draw
    return {
        "wire": received - emitted,
        "inbox": pumped - received,
        "trigger": start - pumped,
        "refresh": end - start,
        "layout": draw - end,
        "draw": flip - draw,
        "total": flip - emitted,
    }


def summarise(parts: list[dict[str, float]]) -> dict[str, Any]:
    """p50 / p95 of each step in ms."""
    out: dict[str, Any] = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        out[f"{key}_ms_p50"] = round(statistics.median(values) * 1000, 1)
        out[f"{key}_ms_p95"] = round(pct(values, 0.95) * 1000, 1)
    out["total_ms_max"] = round(max(p["total"] for p in parts) * 1000, 1)
    return out


def frame_stats(flips: list[float]) -> dict[str, float]:
    """Frame times from successive flips: p50 / p95 / max and frames over 16.7 / 33.3 ms."""
    gaps = [b - a for a, b in pairwise(flips)]
    return {
        "frames": len(gaps),
        "p50_ms": round(statistics.median(gaps) * 1000, 1),
        "p95_ms": round(pct(gaps, 0.95) * 1000, 1),
        "max_ms": round(max(gaps) * 1000, 1),
        "over_16ms": sum(g > FRAME_60HZ_S for g in gaps),
        "over_33ms": sum(g > FRAME_30HZ_S for g in gaps),
    }


def run_frames(frame: Any, stages: Stages, count: int, each: Callable[[int], None]) -> list[float]:
    """Run `count` frames calling `each(i)` before each; return the flip times."""
    stages.flips.clear()
    for i in range(count):
        each(i)
        frame()
    return list(stages.flips)


def scroll_figures(
    frame: Any, window: Any, stages: Stages, visit_list: Any, burst: Callable[[], None]
) -> dict[str, Any]:
    """Frame times of a still window redrawn every frame (baseline), then of scrolling the list
    top to bottom and back while a burst of arrivals comes in."""
    frames = 240

    def still(_: int) -> None:
        window.canvas.ask_update()

    def scroll(i: int) -> None:
        # one sweep down and up over the frames: ~7 rows a frame, a brisk finger flick
        half = frames // 2
        visit_list.scroll_y = 1 - i / half if i < half else (i - half) / half
        if i == frames // 3:
            burst()

    idle = frame_stats(run_frames(frame, stages, frames, still))
    moving = frame_stats(run_frames(frame, stages, frames, scroll))
    return {
        "rows_in_list": len(visit_list.data),
        "idle_frame_ms_p50": idle["p50_ms"],
        "idle_frame_ms_p95": idle["p95_ms"],
        "scroll_frame_ms_p50": moving["p50_ms"],
        "scroll_frame_ms_p95": moving["p95_ms"],
        "scroll_frame_ms_max": moving["max_ms"],
        "scroll_frames": moving["frames"],
        "scroll_frames_over_16ms": moving["over_16ms"],
        "scroll_frames_over_33ms": moving["over_33ms"],
        "idle_frames_over_16ms": idle["over_16ms"],
        "scroll_over_idle_p50": round(moving["p50_ms"] / max(idle["p50_ms"], 1e-3), 2),
        "scroll_over_idle_p95": round(moving["p95_ms"] / max(idle["p95_ms"], 1e-3), 2),
    }
