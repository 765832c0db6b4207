"""The Kivy layer: draws `Tablet.state` and turns touches into `Tablet` verbs. No logic here."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.textinput import TextInput

from branch_hub.client import TicketOperation
from branch_hub.client.enrolment_code import EnrolmentError, parse_enrolment_code
from tablet.brief_panel import draw_brief
from tablet.controller import Tablet
from tablet.state import Arrival
from tablet.widgets import (
    BG,
    GOLD,
    GREY,
    INK,
    NAVY,
    RED,
    forget_widget_caches,
    make_button,
    make_label,
    use_font,
)

if TYPE_CHECKING:
    from branch_hub.client.app_runner import UpdateWatcher
    from tablet.camera_scan import FrameSource

__all__ = ["TabletApp", "TabletView", "forget_widget_caches", "use_font"]

MAX_ROWS = 40  # one screenful; the board itself keeps the whole day


class TabletView(BoxLayout):  # type: ignore[misc]
    """The whole window: header, banner, alerts, the role's work area, status line."""

    def __init__(self, tablet: Tablet, **kw: Any) -> None:
        super().__init__(orientation="vertical", padding=8, spacing=6, **kw)
        self.tablet = tablet
        self.drawn_revision = -1
        self.drawn_screen = ""
        self.rows: dict[str, Button] = {}
        self._order: list[str] = []
        self._drawn_brief: object = None
        self.row_times: dict[str, float] = {}  # bench only: when a row was first laid out
        self.buttons: dict[str, Button] = {}
        self.inputs: dict[str, TextInput] = {}
        self.frame_source: FrameSource | None = None  # None: Kivy's camera (tests inject frames)
        self.selected: str | None = None
        from kivy.core.window import Window

        # The window's clear colour is the background: one full-screen fill less per frame
        # (software GL renders every frame on the CPU).
        Window.clearcolor = BG
        self.header = make_label(size_hint_y=None, height=40, bold=True, font_size=20)
        self.banner = make_label(size_hint_y=None, height=0, color=(0.35, 0.2, 0, 1), font_size=18)
        self.alerts = make_label(size_hint_y=None, height=0, color=RED)
        self.body = BoxLayout(spacing=8)
        self.status = make_label(size_hint_y=None, height=30, color=GREY)
        for widget in (self.header, self.banner, self.alerts, self.body, self.status):
            self.add_widget(widget)

    def paint_background(self, on: bool) -> None:
        """Draw an opaque background in the widget itself (for PNG exports; costs a fill)."""
        self.canvas.before.clear()
        if on:
            with self.canvas.before:
                Color(*BG)
                Rectangle(pos=self.pos, size=self.size)

    # -- refresh --------------------------------------------------------------------------
    def tick(self, *_: Any) -> None:
        """Pump the tablet and redraw if anything changed (called every frame)."""
        self.tablet.pump()
        t = self.tablet
        if t.screen != self.drawn_screen:
            self._build_screen()
        if t.state.revision != self.drawn_revision:
            self.drawn_revision = t.state.revision
            self._refresh()

    def _build_screen(self) -> None:
        self.drawn_screen = self.tablet.screen
        self.body.clear_widgets()
        self.rows, self.buttons, self.inputs = {}, {}, {}
        self._order = []
        self._drawn_brief = None
        self.selected = None
        forget_widget_caches()
        screen = self.drawn_screen
        if screen == "setup":
            self._build_setup()
        elif screen == "login":
            self._build_login()
        else:
            self._build_work(screen)
        self.drawn_revision = -1

    def _form(self, fields: list[tuple[str, str, bool]], action: str, label: str) -> None:
        form = GridLayout(cols=2, spacing=6, size_hint=(0.7, None), height=60 * (len(fields) + 1))
        for key, title, secret in fields:
            form.add_widget(make_label(title, size_hint_x=0.35))
            box = TextInput(multiline=False, password=secret, write_tab=False, font_size=20)
            self.inputs[key] = box
            form.add_widget(box)
        form.add_widget(make_label(""))
        button = make_button(label, on_release=lambda *_: self._submit(action))
        self.buttons[action] = button
        form.add_widget(button)
        holder = BoxLayout(orientation="vertical")
        holder.add_widget(form)
        holder.add_widget(make_label(""))
        self.body.add_widget(holder)

    def _build_setup(self) -> None:
        settings = self.tablet.store.settings()
        self._form(
            [
                ("hub", "中心地址 Hub address", False),
                ("code", "注册码 Enrolment code", False),
                ("fp", "CA 指纹 CA fingerprint", False),
            ],
            "enrol",
            "注册 Enrol",
        )
        self.inputs["hub"].text = str(settings.get("hub_url", "https://"))
        self.buttons["discover"] = make_button(
            "查找中心 Find hub (mDNS)",
            size_hint=(0.7, None),
            height=48,
            background_color=GREY,
            on_release=lambda *_: self.tablet.discover(),
        )
        self.body.children[0].add_widget(self.buttons["discover"], index=1)
        self.buttons["scan"] = make_button(
            "扫码 Scan",
            size_hint=(0.7, None),
            height=48,
            on_release=lambda *_: self._scan(),
        )
        self.body.children[0].add_widget(self.buttons["scan"], index=1)

    def _scan(self) -> None:
        """Show the camera view; with no camera, say so and keep the typed form."""
        from tablet.camera_scan import NoCamera, ScanView, camera_frames, open_camera

        preview, frames = None, self.frame_source
        if frames is None:
            try:
                preview = open_camera()
            except NoCamera as exc:
                self.tablet.message = f"{exc.message_zh} / {exc.message}"
                self.tablet.state.touch()
                return
            frames = camera_frames(preview)
        self.body.clear_widgets()
        self.body.add_widget(ScanView(frames, self._scanned, self._build_screen, preview))

    def _scanned(self, payload: str) -> None:
        """The camera read an enrolment QR: enrol with it as if it had been typed."""
        self._build_screen()
        try:
            hub = parse_enrolment_code(payload).hub_url
        except EnrolmentError:
            hub = None  # the enrolment itself says what is wrong with the code
        if hub:
            self.inputs["hub"].text = hub
        self.inputs["code"].text = payload
        self._submit("enrol")

    def _build_login(self) -> None:
        self._form(
            [("staff", "工号 Staff id", False), ("pin", "密码 PIN", True)], "login", "登录 Log in"
        )

    def _submit(self, action: str) -> None:
        values = {k: v.text for k, v in self.inputs.items()}
        if action == "enrol":
            self.tablet.enrol(values["hub"], values["code"], values["fp"])
        elif action == "login":
            self.inputs["pin"].text = ""
            self.tablet.login(values["staff"], values["pin"])

    def _build_work(self, screen: str) -> None:
        left = BoxLayout(orientation="vertical", size_hint_x=0.45, spacing=4)
        counter = screen == "counter"
        tools = GridLayout(
            cols=3 if counter else 1, size_hint_y=None, height=102 if counter else 48, spacing=6
        )
        if screen == "counter":
            for op, title in (
                ("call_next", "叫号 Call next"),
                ("recall", "重呼 Recall"),
                ("no-show", "过号 No-show"),
                ("transfer", "转 Transfer"),
                ("finish", "完成 Finish"),
            ):
                self.buttons[op] = make_button(title, on_release=lambda *_, o=op: self._counter(o))
                tools.add_widget(self.buttons[op])
        self.buttons["logout"] = make_button(
            "退出 Log out", background_color=GREY, on_release=lambda *_: self.tablet.logout()
        )
        tools.add_widget(self.buttons["logout"])
        left.add_widget(tools)
        self.serving = make_label(
            size_hint_y=None, height=36 if screen == "counter" else 0, bold=True
        )
        left.add_widget(self.serving)
        self.list_box = GridLayout(cols=1, spacing=3, size_hint_y=None)
        self.list_box.bind(minimum_height=self.list_box.setter("height"))
        left.add_widget(self.list_box)
        left.add_widget(make_label(""))
        self.brief_box = BoxLayout(orientation="vertical", spacing=4)
        self.body.add_widget(left)
        self.body.add_widget(self.brief_box)

    def _counter(self, op: str) -> None:
        t = self.tablet
        if op == "call_next":
            t.call_next(str(t.store.settings().get("counter", "C1")))
        elif op == "transfer":
            t.ticket_op(TicketOperation.TRANSFER, service="wealth")
        else:
            t.ticket_op(op)

    def _refresh(self) -> None:
        t = self.tablet
        found = t.found_hubs
        if self.drawn_screen == "setup" and found and self.inputs["hub"].text in ("", "https://"):
            self.inputs["hub"].text = found[0].url
        state = t.state
        session = state.session
        link = "●" if state.connected else "○"
        who = f"{session.name} ({session.role})" if session else ""
        self.header.text = f"{link} 网点助手 Branch tablet   {who}"
        note = state.notifications[-1].text if state.notifications else ""
        self.banner.text = f"★ 贵宾到店 Priority arrival: {note}" if note else ""
        self.banner.height = 34 if note else 0
        alerts = "  |  ".join(a.text for a in state.alerts.values())
        self.alerts.text = f"! 设备提醒 {alerts}" if alerts else ""
        self.alerts.height = 30 if alerts else 0
        self.status.text = t.message
        if self.drawn_screen in ("lobby", "advisor", "counter"):
            self._refresh_list()
            self._refresh_brief()

    def _row_text(self, a: Arrival, now: datetime) -> str:
        tier = f"[{a.tier}]" if a.tier else ""
        who = a.salutation_zh or "散客 walk-in"
        claimed = f"  认领 {a.claimed_by}" if a.claimed_by else ""
        serving = "  服务中" if a.state == "serving" else ""
        return f"{a.ticket}  {tier} {who}  {a.waiting_minutes(now)}分钟{claimed}{serving}"

    def _refresh_list(self) -> None:
        t = self.tablet
        state = t.state
        session = state.session
        if self.drawn_screen == "advisor" and session is not None:
            visits = state.board.handed_to(session.staff_id, session.role)
        else:
            visits = state.board.waiting()
        visits = visits[:MAX_ROWS]
        now = datetime.now(UTC)
        wanted = [v.visit_id for v in visits]
        if wanted != self._order:
            # Reuse row widgets: making a Button (and its text texture) is the costly part.
            for gone in set(self.rows) - set(wanted):
                self.rows.pop(gone)
            self.list_box.clear_widgets()
            for visit in visits:
                row = self.rows.get(visit.visit_id)
                if row is None:
                    row = make_button(
                        "",
                        size_hint_y=None,
                        height=44,
                        halign="left",
                        on_release=lambda *_, v=visit.visit_id: self._select(v),
                    )
                    row.bind(size=lambda w, s: setattr(w, "text_size", (s[0] - 16, None)))
                    self.rows[visit.visit_id] = row
                    if self.tablet.record_times:
                        self.row_times[visit.visit_id] = time.perf_counter()
                self.list_box.add_widget(row)
            self._order = wanted
        for visit in visits:
            row = self.rows[visit.visit_id]
            row.text = self._row_text(visit, now)
            row.background_color = GOLD if visit.priority else NAVY
            row.color = INK if visit.priority else (1, 1, 1, 1)
        serving = state.serving
        if self.drawn_screen == "counter":
            self.serving.text = f"正在服务 Serving: {serving.number}" if serving else "空闲 Idle"

    def _select(self, visit_id: str) -> None:
        self.selected = visit_id
        self.tablet.open_brief(visit_id)

    def _refresh_brief(self) -> None:
        brief = self.tablet.state.brief
        if brief is self._drawn_brief and (brief is not None or self.brief_box.children):
            return  # unchanged: the panel is only rebuilt for a new brief
        self._drawn_brief = brief
        box = self.brief_box
        box.clear_widgets()
        self.buttons = {
            k: v
            for k, v in self.buttons.items()
            if k in ("logout", "call_next", "recall", "no-show", "transfer", "finish")
        }
        if not brief:
            box.add_widget(make_label("选择一位客户查看简报 Pick a customer to see the brief"))
            return
        draw_brief(self, brief)


class TabletApp(App):  # type: ignore[misc]
    """The app: one view, ticked every frame; pause and stop wipe customer data."""

    def __init__(self, tablet: Tablet, *, updates: UpdateWatcher | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.tablet = tablet
        self.view: TabletView | None = None
        self.title = "branch-tablet"
        self.updates = updates
        self.restart_due = False

    def build(self) -> TabletView:
        """Create the view and the per-frame tick."""
        from kivy.core.window import Window

        self.view = TabletView(self.tablet)
        Window.bind(on_touch_down=lambda *_: self.tablet.activity())
        Clock.schedule_interval(self.view.tick, 0)
        if self.updates is not None:
            self.updates.screen_shown()
            Clock.schedule_interval(self._restart_when_free, 1.0)
        return self.view

    def _restart_when_free(self, _dt: float) -> None:
        """A new version is installed: start it while no staff member is logged in."""
        if self.updates is None or self.restart_due or not self.updates.restart_due.is_set():
            return
        if self.tablet.state.session is None:
            self.restart_due = True
            self.stop()

    def on_pause(self) -> bool:
        """Android sends the app to the background: forget everything first."""
        self.tablet.pause()
        forget_widget_caches()
        return True

    def on_stop(self) -> None:
        """Exit: log out, forget everything."""
        if self.updates is not None:
            self.updates.stop()
        self.tablet.close()
        forget_widget_caches()
