"""The kiosk's camera without a Kivy camera provider: zbar's `zbarcam` as a child process.

A fake `zbarcam` first on PATH (a real process: prints a code, then sleeps) stands in for the
camera. It runs only while the camera screen is up, its lines reach the flow as codes through
Kivy's clock, and leaving the screen (or closing the app) ends it: SIGTERM, SIGKILL if ignored.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk import camera_view, zbarcam
from kiosk.flow import Effect, Flow, Phase, SendScan
from kiosk.link import Controller
from tests.test_kiosk_scan_flow import _flow

CODE = "branchedge://appointment?t=from-zbarcam"

FAKE = """#!{python}
import signal, sys, time
{ignore_term}
with open({argv_file!r}, "w") as f:
    f.write("\\n".join(sys.argv[1:]))
sys.stdout.write("\\n{code}\\n")
sys.stdout.flush()
time.sleep(60)
"""


def _install_fake(folder: Path, *, ignore_term: bool = False) -> Path:
    """A `zbarcam` that records its arguments, prints one code and sleeps; returns the argv file."""
    folder.mkdir(exist_ok=True)
    argv_file = folder / "argv"
    script = folder / "zbarcam"
    script.write_text(
        FAKE.format(
            python=sys.executable,
            ignore_term="signal.signal(signal.SIGTERM, signal.SIG_IGN)" if ignore_term else "",
            argv_file=str(argv_file),
            code=CODE,
        )
    )
    script.chmod(0o755)
    return argv_file


@pytest.fixture
def kiosk_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A /dev with two video nodes, no Kivy camera provider, and a fake zbarcam first on PATH."""
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "video1").touch()
    (dev / "video0").touch()
    monkeypatch.setattr(zbarcam, "DEV", dev)
    monkeypatch.setattr(camera_view, "kivy_camera_provider", lambda: False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    _install_fake(tmp_path / "bin")
    return tmp_path


def _until(check: Callable[[], bool], what: str, bound_s: float = 8.0) -> None:
    from kivy.clock import Clock

    deadline = time.monotonic() + bound_s
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        Clock.tick()
        time.sleep(0.02)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def view(kiosk_machine: Path) -> Iterator[tuple[Any, list[Effect]]]:
    from kiosk.app import KioskView

    effects: list[Effect] = []
    flow: Flow = _flow(camera=False)
    controller = Controller(flow, queue.Queue(), effects.append)
    kiosk_view = KioskView(controller)  # no frame source: the kiosk as deployed
    try:
        yield kiosk_view, effects
    finally:
        kiosk_view.stop()


def _open_camera_screen(kiosk_view: Any) -> int:
    kiosk_view.controller.touch("scan")
    assert kiosk_view.controller.flow.state.phase is Phase.SCANNING
    kiosk_view._follow_camera(Phase.SCANNING)
    reader = kiosk_view.camera.reader
    assert reader is not None, "zbarcam runs where Kivy has no camera"
    return int(reader.pid)


def test_zbarcam_codes_reach_the_flow_and_leaving_the_screen_ends_it(
    kiosk_machine: Path, view: tuple[Any, list[Effect]]
) -> None:
    argv_file = kiosk_machine / "bin" / "argv"
    kiosk_view, effects = view
    assert kiosk_view.controller.flow.state.camera, "a video device and zbarcam: buttons show"
    pid = _open_camera_screen(kiosk_view)
    _until(lambda: effects == [SendScan(CODE)], "the code zbarcam printed reached the flow")
    assert argv_file.read_text().split("\n") == [
        "--nodisplay",
        "--nodbus",
        "--quiet",
        "--raw",
        "-Sdisable",
        "-Sqrcode.enable",
        str(kiosk_machine / "dev" / "video0"),
    ]
    kiosk_view.controller.touch("cancel")
    phase = kiosk_view.controller.flow.state.phase
    assert phase is Phase.ATTRACT
    kiosk_view._follow_camera(phase)
    assert kiosk_view.camera is None
    assert _gone(pid), "zbarcam ended when the camera screen left"


def test_closing_the_app_kills_a_zbarcam_that_ignores_sigterm(
    kiosk_machine: Path, view: tuple[Any, list[Effect]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_fake(kiosk_machine / "bin", ignore_term=True)
    monkeypatch.setattr(zbarcam, "STOP_WAIT_S", 0.5)
    kiosk_view, effects = view
    pid = _open_camera_screen(kiosk_view)
    _until(lambda: bool(effects), "the fake is up, SIGTERM ignored")
    kiosk_view.stop()
    assert _gone(pid), "killed after the bound and reaped"


def test_when_the_camera_counts_as_available(
    kiosk_machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = kiosk_machine / "dev"
    assert zbarcam.video_device() == dev / "video0"
    assert zbarcam.zbarcam_path() == str(kiosk_machine / "bin" / "zbarcam")
    for decodes, frames, device, kivy, on_path in itertools.product([False, True], repeat=5):
        monkeypatch.setattr(camera_view, "decoder_available", lambda d=decodes: d)
        monkeypatch.setattr(camera_view, "video_device", lambda d=device: dev if d else None)
        monkeypatch.setattr(camera_view, "kivy_camera_provider", lambda k=kivy: k)
        monkeypatch.setattr(camera_view, "zbarcam_path", lambda p=on_path: "zb" if p else None)
        source = (lambda: None) if frames else None
        expected = decodes and (frames or (device and (kivy or on_path)))
        assert camera_view.camera_available(source) is expected, (
            decodes,
            frames,
            device,
            kivy,
            on_path,
        )


@pytest.mark.skipif(
    shutil.which("zbarcam") is None, reason="no zbarcam (./run installs zbar-tools)"
)
def test_the_real_zbarcam_takes_the_options(tmp_path: Path) -> None:
    missing = tmp_path / "video0"
    done = subprocess.run(
        zbarcam.zbarcam_command(str(shutil.which("zbarcam")), missing),
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert done.returncode != 0
    assert "unknown option" not in done.stderr
    assert f"opening video device '{missing}'" in done.stderr, done.stderr
