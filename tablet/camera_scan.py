"""The setup screen's camera view: look for the enrolment QR about three times a second.

Frames come from a `FrameSource` (`branch_hub.client.qr_frames`, shared with the kiosk): Kivy's
camera (index 0) on a device, any callable in tests.
The first `branchedge:` payload stops the camera and goes to the setup form as a typed code would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.graphics import Color, Rectangle
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout

from branch_hub.client.enrolment_code import EnrolmentError
from branch_hub.client.qr_frames import Frame, FrameSource, camera_frames
from tablet import theme
from tablet.i18n import N_, _, chinese
from tablet.qrscan import ScanUnavailable, decode_frame, enrolment_payload

__all__ = ["SCAN_INTERVAL_S", "Frame", "FrameSource", "NoCamera", "ScanView", "camera_frames"]

SCAN_INTERVAL_S = 0.3


class NoCamera(EnrolmentError):
    """The camera cannot be opened: the code has to be typed."""


def _camera_allowed() -> bool:
    """On Android, ask for the camera permission (granted later: tap Scan again)."""
    try:
        from android.permissions import (  # type: ignore[import-not-found]
            Permission,
            check_permission,
            request_permissions,
        )
    except ImportError:  # not Android: the camera needs no runtime permission
        return True
    if check_permission(Permission.CAMERA):
        return True
    request_permissions([Permission.CAMERA])
    return False


def _both(message: str) -> tuple[str, str]:
    return message, chinese(message)


def open_camera() -> Any:
    """Kivy's camera 0, playing; raise NoCamera (in both languages) if it cannot be opened."""
    if not _camera_allowed():
        raise NoCamera(*_both(N_("allow the camera, then tap Scan again")))
    try:
        from kivy.uix.camera import Camera

        camera = Camera(index=0, play=True, resolution=(640, 480))
    except Exception as exc:  # Kivy has no camera provider, or the provider found no camera
        raise NoCamera(*_both(N_("no camera"))) from exc
    if camera._camera is None:  # Kivy's only sign that no provider answered
        raise NoCamera(*_both(N_("no camera")))
    return camera


class ScanView(BoxLayout):  # type: ignore[misc]
    """The camera picture (if any), a hint and Cancel; calls `on_payload` with the first code."""

    def __init__(
        self,
        frames: FrameSource,
        on_payload: Callable[[str], None],
        on_cancel: Callable[[], None],
        preview: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(orientation="vertical", spacing=dp(6), **kw)
        with self.canvas.before:  # over the form it covers: the page's own background
            Color(*theme.BG)
            self._background = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._fit_background, size=self._fit_background)
        self.frames = frames
        self.on_payload = on_payload
        self.on_cancel = on_cancel
        self.preview = preview
        if preview is not None:
            self.add_widget(preview)
        self.hint = Factory.Caption(
            text=_("Hold the enrolment QR code up to the camera"), size_hint_y=None, height=dp(40)
        )
        self.add_widget(self.hint)
        self.cancel = Factory.QuietButton(text=_("Cancel"), size_hint_y=None, height=dp(48))
        self.cancel.bind(on_release=lambda *_: self._cancel())
        self.add_widget(self.cancel)
        self._event = Clock.schedule_interval(self.look, SCAN_INTERVAL_S)
        # Taken off the screen any other way (a screen change): stop the camera too.
        self.fbind("parent", self._moved)

    def _fit_background(self, *_: Any) -> None:
        self._background.pos, self._background.size = self.pos, self.size

    def look(self, _dt: float = 0.0) -> bool:
        """Decode the current frame; stop at the first enrolment code (False ends the schedule)."""
        frame = self.frames()
        if frame is None:
            return True
        try:
            texts = decode_frame(
                frame.pixels, frame.width, frame.height, frame.fmt, bottom_up=frame.bottom_up
            )
        except ScanUnavailable as exc:
            self.hint.text = exc.bilingual
            self.stop()
            return False
        payload = enrolment_payload(texts)
        if payload is None:
            return True
        self.stop()
        self.on_payload(payload)
        return False

    def _moved(self, _widget: Any, parent: Any) -> None:
        if parent is None:
            self.stop()

    def _cancel(self) -> None:
        self.stop()
        self.on_cancel()

    def stop(self) -> None:
        """Stop looking and release the camera."""
        self._event.cancel()
        if self.preview is not None:
            self.preview.play = False
