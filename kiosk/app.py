"""The Kivy widgets: a thin layer that draws kiosk.screens models and sends touches to the flow."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.camera_view import CameraLook, camera_available
from kiosk.drawing import (
    BG,
    FG,
    GOLD,
    MUTED,
    NAVY_TEXT,
    SECONDARY,
    SERVICE,
    WARN,
    CardIllustration,
    qr_texture,
)
from kiosk.flow import Phase
from kiosk.link import Controller
from kiosk.screens import ButtonModel, ScreenModel, describe
from kiosk.updates import RestartWhenIdle

if TYPE_CHECKING:
    from branch_hub.client.app_runner import UpdateWatcher
    from branch_hub.client.qr_frames import FrameSource

__all__ = ["KioskApp", "KioskView", "use_font"]


def use_font(path: Path) -> None:
    """Make `path` Kivy's default font so every label can draw Chinese."""
    LabelBase.register(DEFAULT_FONT, fn_regular=str(path), fn_bold=str(path))


class KioskView(FloatLayout):  # type: ignore[misc]
    """The root widget: renders the current screen model, forwards touches to the controller."""

    def __init__(
        self, controller: Controller, frame_source: FrameSource | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.controller = controller
        self.frame_source = frame_source  # None: Kivy's camera (tests give frames)
        self.camera: CameraLook | None = None
        controller.flow.camera_ready(camera_available(frame_source))
        self.buttons: dict[str, Button] = {}
        self.model: ScreenModel | None = None
        self.rendered_version = -1
        self.render_times: list[tuple[Phase, float]] = []
        self.on_rendered: Callable[[ScreenModel], None] | None = None
        self.reading_grace_s = 0.1
        self._reading_since: dict[int, float] = {}
        with self.canvas.before:
            Color(*BG)
            self._bg = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._relayout, size=self._relayout)
        self._event = Clock.schedule_interval(self.frame, 0)

    def stop(self) -> None:
        """Stop the per-frame pump (and the camera)."""
        self._event.cancel()
        self._follow_camera(None)

    def _follow_camera(self, phase: Phase | None) -> None:
        """The camera looks while the scanning screen is up, and only then."""
        if phase is Phase.SCANNING and self.camera is None:
            self.camera = CameraLook(self.frame_source, self.controller.scanned)
        elif phase is not Phase.SCANNING and self.camera is not None:
            self.camera.stop()
            self.camera = None

    def frame(self, _dt: float = 0.0) -> None:
        """Pump the controller; re-render when the screen changed."""
        self.controller.pump()
        state = self.controller.flow.state
        if self.rendered_version == state.version:
            return
        if state.phase is Phase.READING and self.model is not None:
            # A card is usually recognised within a few tens of ms of being sensed. Drawing
            # "reading" first would put a whole frame (~150 ms with software GL) in front of
            # the greeting, so "reading" waits a moment for the answer (still far below what
            # a customer perceives as a delay).
            since = self._reading_since.setdefault(state.version, time.perf_counter())
            if time.perf_counter() - since < self.reading_grace_s:
                return
        self._reading_since.clear()
        self.render()

    def _relayout(self, *_: Any) -> None:
        self._bg.pos, self._bg.size = self.pos, self.size
        if self.model is not None:
            self.render()

    # --- building blocks -------------------------------------------------------------------
    @property
    def unit(self) -> float:
        """One hundredth of the short side of the window: every size is a multiple of it."""
        return max(1.0, min(float(self.width), float(self.height)) / 100.0)

    @property
    def landscape(self) -> bool:
        """True when the window is wider than tall."""
        return bool(self.width >= self.height)

    def _label(self, text: str, size: float, color: tuple[float, ...] = FG, **kw: Any) -> Label:
        label = Label(
            text=text,
            font_size=size * self.unit,
            color=color,
            halign=kw.pop("halign", "center"),
            valign="middle",
            size_hint_y=None,
            **kw,
        )
        label.bind(width=lambda w, v: setattr(w, "text_size", (v, None)))
        label.bind(texture_size=lambda w, v: setattr(w, "height", v[1] + self.unit))
        return label

    def _button(self, model: ButtonModel, height: float) -> Button:
        u = self.unit
        if model.kind == "primary":
            bg, fg, size = GOLD, NAVY_TEXT, 5.2
        elif model.kind == "service":
            bg, fg, size = SERVICE, FG, 4.6
        else:
            bg, fg, size = SECONDARY, FG, 3.6
        text = model.label
        if model.sublabel:
            sub = model.sublabel.replace("\n", "\n")
            text = f"[b]{model.label}[/b]\n[size={int(size * 0.62 * u)}]{sub}[/size]"
        button = Button(
            text=text,
            markup=True,
            font_size=size * u,
            color=fg,
            background_normal="",
            background_down="",
            background_color=bg,
            halign="center",
            valign="middle",
            size_hint_y=None,
            height=height * u,
        )
        button.bind(size=lambda w, v: setattr(w, "text_size", (v[0] - 2 * u, v[1])))
        action = model.action
        button.bind(on_release=lambda *_: self.press(action))
        self.buttons[action] = button
        return button

    def press(self, action: str) -> None:
        """Send a button's action to the flow and redraw at once (no frame of lag)."""
        self.controller.touch(action)
        self.render()

    # --- screens ---------------------------------------------------------------------------
    def render(self) -> None:
        """Rebuild the widgets for the flow's current state."""
        state = self.controller.flow.state
        model = describe(state)
        self.model = model
        self.rendered_version = state.version
        self.buttons = {}
        self.clear_widgets()
        u = self.unit
        page = BoxLayout(orientation="vertical", padding=3 * u, spacing=2 * u)
        header = BoxLayout(orientation="horizontal", size_hint_y=None, height=9 * u, spacing=2 * u)
        branch = Label(
            text=model.header, font_size=3.6 * u, color=MUTED, halign="left", valign="middle"
        )
        branch.bind(size=lambda w, v: setattr(w, "text_size", v))
        header.add_widget(branch)
        if model.lang_button is not None:
            lang = self._button(model.lang_button, 8)
            lang.size_hint_x = None
            lang.width = 22 * u
            header.add_widget(lang)
        page.add_widget(header)
        self._follow_camera(model.phase)
        builder = getattr(self, f"_screen_{model.phase.value}", self._screen_plain)
        builder(page, model)
        self.add_widget(page)
        self.render_times.append((model.phase, time.perf_counter()))
        if self.on_rendered is not None:
            self.on_rendered(model)

    def _titles(self, page: BoxLayout, model: ScreenModel, title_size: float = 6.5) -> None:
        if model.notice:
            page.add_widget(self._label(model.notice, 4.2, WARN))
        page.add_widget(self._label(model.title, title_size, FG, bold=True))
        if model.subtitle:
            page.add_widget(self._label(model.subtitle, 4.2, GOLD))

    def _buttons(self, page: BoxLayout, model: ScreenModel, height: float = 14) -> None:
        for b in model.buttons:
            page.add_widget(self._button(b, height if b.kind == "primary" else 10))

    def _screen_plain(self, page: BoxLayout, model: ScreenModel) -> None:
        page.add_widget(Widget())
        self._titles(page, model, 7.5)
        if model.busy:
            page.add_widget(self._label("· · ·", 8, MUTED))
        page.add_widget(Widget())
        self._buttons(page, model)

    def _screen_attract(self, page: BoxLayout, model: ScreenModel) -> None:
        page.add_widget(self._label(model.title, 6.2, FG, bold=True))
        middle = BoxLayout(
            orientation="horizontal" if self.landscape else "vertical", spacing=3 * self.unit
        )
        middle.add_widget(CardIllustration())
        counts = BoxLayout(orientation="vertical", spacing=self.unit)
        counts.add_widget(Widget())
        counts.add_widget(self._label(model.subtitle, 4.4, GOLD))
        for line in model.lines:
            counts.add_widget(self._label(line, 4.0, FG))
        counts.add_widget(Widget())
        middle.add_widget(counts)
        page.add_widget(middle)
        self._buttons(page, model, 15)

    def _screen_read_failed(self, page: BoxLayout, model: ScreenModel) -> None:
        self._titles(page, model)
        page.add_widget(CardIllustration())
        self._buttons(page, model, 14)

    def _screen_greeting(self, page: BoxLayout, model: ScreenModel) -> None:
        page.add_widget(Widget())
        page.add_widget(self._label(model.title, 9, FG, bold=True))
        if model.subtitle:
            page.add_widget(self._label(model.subtitle, 4.6, GOLD))
        page.add_widget(Widget())
        self._buttons(page, model, 12)

    def _screen_menu(self, page: BoxLayout, model: ScreenModel) -> None:
        self._titles(page, model, 5.6)
        services = [b for b in model.buttons if b.kind == "service"]
        others = [b for b in model.buttons if b.kind != "service"]
        grid = GridLayout(cols=2 if self.landscape else 1, spacing=2 * self.unit)
        rows = (len(services) + 1) // 2 if self.landscape else len(services)
        for b in services:
            button = self._button(b, 18)
            button.size_hint_y = 1.0 / max(1, rows)
            grid.add_widget(button)
        page.add_widget(grid)
        for b in others:
            page.add_widget(self._button(b, 10))

    def _screen_scanning(self, page: BoxLayout, model: ScreenModel) -> None:
        self._titles(page, model, 6.0)
        if self.camera is not None:
            if self.camera.preview.parent is not None:
                self.camera.preview.parent.remove_widget(self.camera.preview)
            page.add_widget(self.camera.preview)
        self._buttons(page, model)

    def _screen_ticket(self, page: BoxLayout, model: ScreenModel) -> None:
        u = self.unit
        if model.notice:
            page.add_widget(self._label(model.notice, 4.4, WARN, bold=True))
        page.add_widget(self._label(model.title, 7, FG, bold=True))
        if model.subtitle:  # a booked customer's check-in: how it went
            page.add_widget(self._label(model.subtitle, 4.6, GOLD))
        middle = BoxLayout(
            orientation="horizontal" if self.landscape else "vertical", spacing=3 * u
        )
        left = BoxLayout(orientation="vertical", spacing=u)
        left.add_widget(Widget())
        left.add_widget(self._label(model.big_number, 24, GOLD, bold=True))
        for line in model.lines:
            left.add_widget(self._label(line, 3.8, FG))
        left.add_widget(Widget())
        middle.add_widget(left)
        if model.qr:
            image = Image(texture=qr_texture(model.qr), fit_mode="contain")
            middle.add_widget(image)
        page.add_widget(middle)
        self._buttons(page, model)

    _screen_upgraded = _screen_ticket  # the number again, without the QR


class KioskApp(App):  # type: ignore[misc]
    """The kiosk application (App.run() blocks until the window closes).

    Without a controller it starts on `first` (the enrolment screen), which calls `enrolled`
    with the controller once the kiosk has its certificate. With `updates` it closes itself
    (`restart_due`) when a new version is installed and the kiosk idles on attract.
    """

    def __init__(
        self,
        controller: Controller | None,
        on_stop: Callable[[], None],
        first: Callable[[KioskApp], Widget] | None = None,
        *,
        updates: UpdateWatcher | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.title = "branch-kiosk"
        self.controller = controller
        self._on_stop = on_stop
        self._first = first
        self.view: KioskView | None = None
        self.shown: Phase | None = None
        self.restart_due = False
        self._updates: UpdateWatcher | None = None
        self._idle: RestartWhenIdle | None = None
        self._watch(updates)

    def _watch(self, updates: UpdateWatcher | None) -> None:
        if updates is None:
            return
        self._updates, self._idle = updates, RestartWhenIdle(updates)
        Clock.schedule_interval(self._restart_when_idle, 1.0)

    def on_start(self) -> None:
        """Note every touch: a due restart waits until nobody is using the kiosk."""
        from kivy.core.window import Window

        Window.bind(on_touch_down=self._touched)

    def _touched(self, *_: Any) -> None:
        if self._idle is not None:
            self._idle.touched()

    def _restart_when_idle(self, _dt: float) -> None:
        flow = self.controller.flow if self.controller is not None else None
        on_attract = flow is not None and flow.state.phase is Phase.ATTRACT
        if self._idle is not None and not self.restart_due and self._idle.now(on_attract):
            logging.getLogger("kiosk").info("kiosk restarts into the installed version")
            self.restart_due = True
            self.stop()

    def build(self) -> Widget:
        """Build the root view: the kiosk's screens, or the enrolment screen first."""
        if self.controller is not None:
            return self._kiosk_view(self.controller)
        if self._first is None:
            raise RuntimeError("the kiosk app needs a controller or a first screen")
        return self._first(self)

    def _kiosk_view(self, controller: Controller) -> KioskView:
        self.view = KioskView(controller)
        self.view.on_rendered = self._log_screen
        return self.view

    def _log_screen(self, model: ScreenModel) -> None:
        if model.phase is not self.shown:  # the journal tells which screen the kiosk shows
            self.shown = model.phase
            logging.getLogger("kiosk").info("kiosk screen: %s", model.phase.value)
        if model.phase is Phase.ATTRACT and self._updates is not None:
            # Attract means the hub answered and the screen is drawn: this version is healthy.
            self._updates.hub_reached()
            self._updates.screen_shown()

    def enrolled(
        self,
        controller: Controller,
        on_stop: Callable[[], None],
        updates: UpdateWatcher | None = None,
    ) -> None:
        """Enrolment finished: swap the enrolment screen for the kiosk's screens."""
        from kivy.core.window import Window

        self.controller, self._on_stop = controller, on_stop
        self._watch(updates)
        view = self._kiosk_view(controller)
        Window.remove_widget(self.root)  # type: ignore[has-type]
        self.root = view
        Window.add_widget(view)

    def on_stop(self) -> None:
        """Close the hub link when the window closes."""
        if self.view is not None:
            self.view.stop()
        self._on_stop()
