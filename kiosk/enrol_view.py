"""The kiosk's first-start screen: IT scans the enrolment QR (the scanner types it) or types the code.

Chinese first, English second. The enrolment itself (`KioskFolder.enrol`) runs on a thread; its
outcome comes back to the UI thread, which shows why it was refused or hands over to the kiosk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.enrolment import EnrolmentError, KioskFolder

__all__ = ["EnrolView"]

log = logging.getLogger("kiosk")

KV = """
#:import dp kivy.metrics.dp
#:import sp kivy.metrics.sp
<EnrolLabel@Label>:
    color: 1, 1, 1, 1
    size_hint_y: None
    text_size: self.width, None
    height: self.texture_size[1] + dp(8)
    halign: "center"

<EnrolInput@TextInput>:
    multiline: False
    write_tab: False
    size_hint_y: None
    height: sp(30) * 1.9
    font_size: sp(26)
    padding: dp(12), dp(12)

<EnrolView>:
    orientation: "vertical"
    padding: dp(48)
    spacing: dp(14)
    canvas.before:
        Color:
            rgba: 0.035, 0.11, 0.22, 1
        Rectangle:
            pos: self.pos
            size: self.size
    EnrolLabel:
        text: "[b]排队机注册[/b]\\n[size=%d]Kiosk enrolment[/size]" % sp(30)
        markup: True
        font_size: sp(48)
    EnrolLabel:
        text: "请用扫码枪扫描 IT 提供的注册二维码，或输入注册码后按回车。\\nScan the enrolment QR from IT with the scanner, or type the code and press Enter."
        font_size: sp(24)
        color: 0.78, 0.84, 0.92, 1
    EnrolLabel:
        text: "注册码或二维码内容  Enrolment code or QR text"
        font_size: sp(22)
        halign: "left"
    EnrolInput:
        id: code
        hint_text: "branchedge://enrol?…  /  ABCD-EFGH-JKLM-NPQR"
        on_text_validate: root.submit()
    EnrolLabel:
        text: "CA 指纹（二维码已包含时不填）  CA fingerprint (not needed with the QR)"
        font_size: sp(22)
        halign: "left"
    EnrolInput:
        id: fingerprint
        hint_text: "a1b2c3d4 e5f6…"
        on_text_validate: root.submit()
    Button:
        id: enrol
        text: "注册  Enrol"
        size_hint_y: None
        height: dp(84)
        font_size: sp(32)
        color: 0.03, 0.08, 0.16, 1
        background_normal: ""
        background_color: (0.99, 0.78, 0.22, 1) if not root.busy else (0.5, 0.5, 0.5, 1)
        disabled: root.busy
        on_release: root.submit()
    EnrolLabel:
        id: status
        text: root.status
        font_size: sp(26)
        color: (1.0, 0.62, 0.25, 1) if root.refused else (0.99, 0.78, 0.22, 1)
    Widget:
"""

Builder.load_string(KV)


class EnrolView(BoxLayout):  # type: ignore[misc]
    """Code and fingerprint fields, an Enrol button and the outcome; Enter (the scanner's) sends."""

    status = StringProperty("")
    busy = BooleanProperty(False)
    refused = BooleanProperty(False)

    def __init__(
        self,
        folder: KioskFolder,
        on_enrolled: Callable[[], None],
        interfaces: list[str] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.folder = folder
        self.on_enrolled = on_enrolled
        self.interfaces = interfaces
        Clock.schedule_once(self._focus, 0.2)
        log.info("kiosk screen: enrolment (no certificate in %s)", folder.root)

    def _focus(self, *_: Any) -> None:
        self.ids.code.focus = True

    def submit(self) -> None:
        """Enrol with what was typed or scanned (on a thread)."""
        if self.busy:
            return
        code, fingerprint = self.ids.code.text, self.ids.fingerprint.text
        self.busy, self.refused = True, False
        self.status = "正在注册…  Enrolling…"
        threading.Thread(
            target=self._enrol, args=(code, fingerprint), name="kiosk-enrol", daemon=True
        ).start()

    def _enrol(self, code: str, fingerprint: str) -> None:
        try:
            device_id = self.folder.enrol(code, fingerprint, self.interfaces)
        except EnrolmentError as exc:
            log.warning("enrolment refused: %s", exc)
            message = exc.bilingual
            Clock.schedule_once(lambda _dt: self._refused(message))
            return
        except Exception as exc:  # a broken answer or a disk error: say so, stay on the screen
            log.exception("enrolment failed")
            message = f"注册失败  Enrolment failed: {type(exc).__name__}"
            Clock.schedule_once(lambda _dt: self._refused(message))
            return
        Clock.schedule_once(lambda _dt: self._done(device_id))

    def _refused(self, message: str) -> None:
        self.busy, self.refused = False, True
        self.status = message
        self.ids.code.text = ""
        self._focus()

    def _done(self, device_id: str) -> None:
        self.busy = False
        self.status = f"已注册为 {device_id}  Enrolled as {device_id}"
        self.on_enrolled()
