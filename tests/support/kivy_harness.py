"""Drive a Kivy window in the test process: Xvfb, frames, simulated touches, screenshots."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def start_xvfb(screen: str = "1920x1920x24") -> subprocess.Popen[bytes] | None:
    """Start a private Xvfb and point DISPLAY at it (None if a display is already set)."""
    if os.environ.get("DISPLAY"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError("Xvfb is not installed: run ./run bootstrap")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    os.environ["DISPLAY"] = f":{number}"
    return proc


def prepare_kivy_env() -> None:
    """Environment Kivy reads at import: private home, no argv parsing, quiet log."""
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")


_SHARED: dict[str, Any] = {}


def shared_harness() -> Harness:
    """The process's one Kivy window (Kivy has one per process) on a private Xvfb started on
    first use and stopped at exit, so later test modules find the same display alive."""
    if "harness" not in _SHARED:
        xvfb = start_xvfb()
        if xvfb is not None:
            atexit.register(_stop, xvfb)
        prepare_kivy_env()
        _SHARED["harness"] = Harness()
    harness: Harness = _SHARED["harness"]
    return harness


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


class Harness:
    """One Kivy window shared by the tests of a session; views are swapped in and out."""

    def __init__(self) -> None:
        from kivy.base import EventLoop
        from kivy.core.window import Window

        self.window: Any = Window
        self.loop: Any = EventLoop
        EventLoop.ensure_window()
        self.view: Any = None
        self.aloop: asyncio.AbstractEventLoop | None = None

    def use_asyncio(self) -> asyncio.AbstractEventLoop:
        """Run every frame on an asyncio loop from now on, as an app under `App.async_run` does:
        tasks on that loop (hub calls, event streams) run while a frame waits for its time."""
        if self.aloop is None:
            from kivy.clock import Clock

            Clock.init_async_lib("asyncio")
            self.aloop = asyncio.new_event_loop()
        return self.aloop

    def frame(self) -> None:
        """Advance one frame."""
        if self.aloop is not None:
            self.aloop.run_until_complete(self.loop.async_idle())
        else:
            self.loop.idle()

    def show(self, view: Any, size: tuple[int, int]) -> None:
        """Put `view` alone in the window at `size`."""
        self.window.size = size
        for child in list(self.window.children):
            self.window.remove_widget(child)
        self.view = view
        self.window.add_widget(view)
        self.frames(3)

    def resize(self, size: tuple[int, int]) -> None:
        """Change the window size (orientation)."""
        self.window.size = size
        self.frames(4)

    def frames(self, count: int = 1) -> None:
        """Advance `count` frames."""
        for _ in range(count):
            self.frame()

    def until(
        self, predicate: Callable[[], bool], timeout_s: float = 10.0, what: str = ""
    ) -> float:
        """Advance frames until `predicate()` holds; return the seconds it took."""
        start = time.perf_counter()
        while not predicate():
            if time.perf_counter() - start > timeout_s:
                raise AssertionError(
                    f"timed out after {timeout_s}s waiting for {what or predicate}"
                )
            self.frame()
            time.sleep(0.005)
        return time.perf_counter() - start

    def tap(self, widget: Any) -> None:
        """A simulated finger tap at the middle of `widget`."""
        from kivy.tests.common import UnitTestTouch

        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.frames(1)
        touch.touch_up()
        self.frames(3)

    def screenshot(self, path: Path) -> Path:
        """Save the window as PNG at exactly `path`."""
        self.frames(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Render the view into its own framebuffer: under Xvfb the window's GL surface may
        # keep its old size for a while after a resize, so reading the window is unreliable.
        self.view.export_as_image().save(str(path))
        return path
