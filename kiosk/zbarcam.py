"""The kiosk's camera when Kivy has no camera provider: zbar's own `zbarcam` program.

The kiosk's venv is built from wheels and holds neither OpenCV nor GStreamer, so Kivy cannot open
the camera there. `zbarcam` (Debian zbar-tools) reads the video device itself and prints each QR
it decodes on a line of its own; the kiosk runs it only while the camera screen is up and ends it
when the screen goes (SIGTERM, then SIGKILL after `STOP_WAIT_S`).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["STOP_WAIT_S", "ZbarcamReader", "video_device", "zbarcam_command", "zbarcam_path"]

log = logging.getLogger("kiosk.camera")

DEV = Path("/dev")
STOP_WAIT_S = 2.0


def video_device() -> Path | None:
    """The first video4linux device: video0 before video10 (a webcam's second node is metadata)."""
    found = sorted(DEV.glob("video*"), key=lambda p: (len(p.name), p.name))
    return found[0] if found else None


def zbarcam_path() -> str | None:
    """Where `zbarcam` is on PATH, if it is."""
    return shutil.which("zbarcam")


def zbarcam_command(program: str, device: Path) -> list[str]:
    """No window, no D-Bus, no beep; QR codes only, each printed raw on its own line."""
    return [
        program,
        "--nodisplay",
        "--nodbus",
        "--quiet",
        "--raw",
        "-Sdisable",
        "-Sqrcode.enable",
        str(device),
    ]


class ZbarcamReader:
    """One running `zbarcam`: a thread reads its lines and hands each code to `deliver`."""

    def __init__(self, program: str, device: Path, deliver: Callable[[str], None]) -> None:
        self.deliver = deliver
        self._stopping = False
        # stderr is inherited: zbarcam's own complaints (device busy, no permission) reach the
        # kiosk's journal as they are.
        self.process = subprocess.Popen(
            zbarcam_command(program, device),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        self._thread = threading.Thread(target=self._read, name="zbarcam", daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int:
        """The process id of this zbarcam."""
        return self.process.pid

    def _read(self) -> None:
        stdout = self.process.stdout
        if stdout is None:  # pragma: no cover - Popen was given stdout=PIPE
            return
        for raw in stdout:
            text = raw.decode("utf-8", "replace").strip()
            if text:
                self.deliver(text)
        if not self._stopping:
            try:
                code = self.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                code = None
            log.warning("zbarcam ended by itself (exit status %s): the camera reads no codes", code)

    def stop(self) -> None:
        """End zbarcam: SIGTERM, SIGKILL if it is still there after STOP_WAIT_S, then reap it."""
        self._stopping = True
        if self.process.poll() is None:
            self.process.terminate()
            if not self._reaped():
                log.warning("zbarcam did not end on SIGTERM: killed")
                self.process.kill()
                if not self._reaped():  # stuck in the kernel (a wedged driver)
                    log.warning("zbarcam %d did not end on SIGKILL", self.process.pid)
        self._thread.join(timeout=STOP_WAIT_S)
        if self.process.stdout is not None and not self._thread.is_alive():
            self.process.stdout.close()

    def _reaped(self) -> bool:
        try:
            self.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            return False
        return True
