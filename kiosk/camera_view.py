"""The kiosk's camera (Kivy): it looks for a QR about three times a second while the scanning
screen is up and hands the first text it reads to the controller.

Frames come from a `FrameSource` (`branch_hub.client.qr_frames`, the decoder the tablet uses
too): Kivy's camera 0 where Kivy has a camera provider, any callable in tests. The kiosk as
packaged has no provider (no OpenCV or GStreamer in its venv), so there zbar's own `zbarcam`
reads the video device instead (`kiosk.zbarcam`) and the screen shows the viewfinder outline.
Without zbar or a camera the flow is told so at start and the scan buttons never show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Line
from kivy.uix.widget import Widget

from branch_hub.client.qr_frames import (
    DecoderMissing,
    FrameSource,
    camera_frames,
    decode_frame,
    decoder_available,
)
from kiosk.zbarcam import ZbarcamReader, video_device, zbarcam_path

__all__ = [
    "SCAN_INTERVAL_S",
    "CameraLook",
    "camera_available",
    "kivy_camera_provider",
    "open_camera",
    "open_zbarcam",
]

log = logging.getLogger("kiosk.camera")

SCAN_INTERVAL_S = 0.3


def kivy_camera_provider() -> bool:
    """Whether Kivy found a camera provider (OpenCV or GStreamer) in this environment."""
    from kivy.core.camera import Camera

    return Camera is not None


def camera_available(frames: FrameSource | None) -> bool:
    """zbar loads, and a frame source is given or a video device and a way to read it."""
    if not decoder_available():
        return False
    if frames is not None:
        return True
    return video_device() is not None and (kivy_camera_provider() or zbarcam_path() is not None)


def open_camera() -> Any | None:
    """Kivy's camera 0, playing, or None when no provider or camera answers."""
    try:
        from kivy.uix.camera import Camera

        camera = Camera(index=0, play=True, resolution=(640, 480))
    except Exception as exc:  # Kivy has no camera provider, or the provider found no camera
        log.warning("the camera cannot be opened: %s", type(exc).__name__)
        return None
    return camera if camera._camera is not None else None


def open_zbarcam(deliver: Callable[[str], None]) -> ZbarcamReader | None:
    """`zbarcam` reading the first video device, or None when either is missing or it fails."""
    program, device = zbarcam_path(), video_device()
    if program is None or device is None:
        return None
    try:
        return ZbarcamReader(program, device, deliver)
    except OSError as exc:
        log.warning("zbarcam cannot be started: %s", exc)
        return None


class _Viewfinder(Widget):  # type: ignore[misc]
    """Where the picture would be when there is no preview (zbarcam, tests): a gold outline."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        side = min(self.width, self.height) * 0.8
        x, y = self.center_x - side / 2, self.center_y - side / 2
        with self.canvas:
            Color(0.95, 0.77, 0.3, 1)
            Line(rectangle=(x, y, side, side), width=max(2.0, side / 80))


class CameraLook:
    """One opening of the camera: each text it reads goes to `on_text` on Kivy's clock.

    Frames (a test's source, or Kivy's camera) are decoded every SCAN_INTERVAL_S; without a Kivy
    camera, `zbarcam` runs for as long as this look and its lines arrive through the clock.
    """

    def __init__(self, frames: FrameSource | None, on_text: Callable[[str], None]) -> None:
        self.on_text = on_text
        self.looking = True
        self.camera: Any | None = None
        self.reader: ZbarcamReader | None = None
        if frames is None:
            self.camera = open_camera() if kivy_camera_provider() else None
            if self.camera is None:
                self.reader = open_zbarcam(self._heard)
        self.frames = frames or (camera_frames(self.camera) if self.camera is not None else None)
        self.preview: Widget = self.camera if self.camera is not None else _Viewfinder()
        self._event = Clock.schedule_interval(self.look, SCAN_INTERVAL_S)

    def _heard(self, text: str) -> None:
        """A code from zbarcam's reading thread: handed on in Kivy's thread, if still looking."""
        Clock.schedule_once(lambda _dt: self._hand_on(text))

    def _hand_on(self, text: str) -> None:
        if self.looking:
            self.on_text(text)

    def look(self, _dt: float = 0.0) -> bool:
        """Decode the current frame; hand on the first text it holds (False ends the schedule)."""
        frame = self.frames() if self.frames is not None else None
        if frame is None:
            return True
        try:
            texts = decode_frame(
                frame.pixels, frame.width, frame.height, frame.fmt, bottom_up=frame.bottom_up
            )
        except DecoderMissing:
            self.stop()
            return False
        except ValueError as exc:  # a frame of another shape than it says: the next one
            log.info("camera frame skipped: %s", exc)
            return True
        for found in texts:
            if found.strip():
                self.on_text(found.strip())
                break
        return True

    def stop(self) -> None:
        """Stop looking and release the camera (zbarcam ends before this returns)."""
        self.looking = False
        self._event.cancel()
        if self.reader is not None:
            self.reader.stop()
        if self.camera is not None:
            self.camera.play = False
        if self.preview.parent is not None:
            self.preview.parent.remove_widget(self.preview)
