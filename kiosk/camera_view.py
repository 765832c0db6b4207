"""The kiosk's camera (Kivy): it looks for a QR about three times a second while the scanning
screen is up and hands the first text it reads to the controller.

Frames come from a `FrameSource` (`branch_hub.client.qr_frames`, the decoder the tablet uses
too): Kivy's camera 0 on the kiosk, any callable in tests. Without zbar or a camera the flow is
told so at start and the scan buttons never show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
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

__all__ = ["SCAN_INTERVAL_S", "CameraLook", "camera_available", "open_camera"]

log = logging.getLogger("kiosk.camera")

SCAN_INTERVAL_S = 0.3


def camera_available(frames: FrameSource | None) -> bool:
    """zbar loads, and a frame source is given or the machine has a video device."""
    if not decoder_available():
        return False
    return frames is not None or any(Path("/dev").glob("video*"))


def open_camera() -> Any | None:
    """Kivy's camera 0, playing, or None when no provider or camera answers."""
    try:
        from kivy.uix.camera import Camera

        camera = Camera(index=0, play=True, resolution=(640, 480))
    except Exception as exc:  # Kivy has no camera provider, or the provider found no camera
        log.warning("the camera cannot be opened: %s", type(exc).__name__)
        return None
    return camera if camera._camera is not None else None


class _Viewfinder(Widget):  # type: ignore[misc]
    """Where the picture would be when there is no preview (tests): a gold square outline."""

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
    """One opening of the camera: frames decoded on the clock, each new text to `on_text`."""

    def __init__(self, frames: FrameSource | None, on_text: Callable[[str], None]) -> None:
        self.camera = open_camera() if frames is None else None
        self.frames = frames or (camera_frames(self.camera) if self.camera is not None else None)
        self.preview: Widget = self.camera if self.camera is not None else _Viewfinder()
        self.on_text = on_text
        self._event = Clock.schedule_interval(self.look, SCAN_INTERVAL_S)

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
        """Stop looking and release the camera."""
        self._event.cancel()
        if self.camera is not None:
            self.camera.play = False
        if self.preview.parent is not None:
            self.preview.parent.remove_widget(self.preview)
