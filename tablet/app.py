"""The Kivy layer: draws `Tablet.state` and turns touches into `Tablet` verbs. No logic here.

The window is a header, banners, a ScreenManager with one Screen per state (tablet/screens.py,
each drawn by its kv file) and a status line. Each frame pumps the controller; a change of
`state.revision` or of the screen fires one redraw trigger, so a burst of events costs one
redraw per frame at most.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.textinput import TextInput

import tablet.booking_list
import tablet.brief_panel
import tablet.catalogue_screens
import tablet.handoff_panel
import tablet.report_view  # noqa: F401  (registers OfferBar and the report screen for the kv files)
from tablet import theme, words
from tablet.controller import Tablet
from tablet.i18n import DEFAULT_LOCALE, EN, LOCALES, _, again, use_language
from tablet.i18n import language as shown_language
from tablet.product_facts import ProductSource
from tablet.screens import SCREENS, TabletScreen, load_kv
from tablet.showcase import Showcase, hide_offer
from tablet.showcase_screens import SHOWCASE_SCREENS
from tablet.widgets import forget_widget_caches, use_font

if TYPE_CHECKING:
    from branch_hub.client.app_runner import UpdateWatcher
    from tablet.camera_scan import FrameSource

__all__ = ["TabletApp", "TabletView", "forget_widget_caches", "screen_name", "use_font"]

WORK_SCREENS = frozenset({"lobby", "advisor", "counter", "board"})
SCREENS.update(SHOWCASE_SCREENS)  # compare and present (tablet/showcase_screens.py)


def screen_name(tablet: Tablet, revocation_seen: bool = False) -> str:
    """The screen the tablet's state calls for."""
    if tablet.screen == "setup" and tablet.wiped and not revocation_seen:
        return "revoked"
    if tablet.screen in WORK_SCREENS and not tablet.state.connected:
        return "reconnecting"
    return tablet.screen if tablet.screen in SCREENS else "login"


class TabletView(BoxLayout):  # type: ignore[misc]
    """The whole window (its layout is kv/shell.kv)."""

    manager = ObjectProperty(None)
    staff_line = StringProperty("")
    link_text = StringProperty("")
    banner_text = StringProperty("")
    alert_text = StringProperty("")
    update_text = StringProperty("")
    update_ready = BooleanProperty(False)  # a new version is installed and waits for a logout
    status_text = StringProperty("")
    logged_in = BooleanProperty(False)
    language = StringProperty(shown_language())
    presenting = BooleanProperty(False)  # turned toward the customer: no frame, no staff lines

    def __init__(self, tablet: Tablet, **kw: Any) -> None:
        load_kv()
        self.tablet = tablet
        saved = tablet.store.settings().get("language")
        use_language(saved if saved in LOCALES else DEFAULT_LOCALE)
        super().__init__(**kw)
        self.language = shown_language()
        self.drawn_revision = -1
        self.drawn_screen = ""
        self.revocation_seen = False
        self.row_times: dict[str, float] = {}  # bench only: when a row's data was first set
        self.frame_source: FrameSource | None = None  # None: Kivy's camera (tests inject frames)
        self.showcase: Showcase = tablet.showcase
        self.redraw = Clock.create_trigger(self._refresh, 0)
        for name, screen in SCREENS.items():
            self.manager.add_widget(screen(name=name, view=self))
        from kivy.core.window import Window

        # The window's clear colour is the background: one full-screen fill less per frame
        # (software GL renders every frame on the CPU).
        Window.clearcolor = theme.BG

    @property
    def screen(self) -> TabletScreen:
        """The screen on show."""
        screen: TabletScreen = self.manager.get_screen(self.drawn_screen or "login")
        return screen

    @property
    def products(self) -> ProductSource | None:
        """The catalogue the compare and presentation screens read (None: none yet)."""
        return self.showcase.products

    @products.setter
    def products(self, source: ProductSource | None) -> None:
        self.showcase.products = source

    @property
    def buttons(self) -> dict[str, Button]:
        """Every button the user can press now, by what it does."""
        if self.presenting:
            return self.screen.buttons()
        return {
            "logout": self.ids.logout,
            "language": self.ids.language,
            "catalogue": self.ids.catalogue,
            **self.ids.offer.buttons,
            **self.screen.buttons(),
        }

    @property
    def inputs(self) -> dict[str, TextInput]:
        """The text fields on show, by what they hold."""
        return self.screen.inputs()

    def row_for(self, visit_id: str) -> Any:
        """The list row showing a customer, if it is on screen."""
        visit_list = getattr(self.screen, "visit_list", None)
        return visit_list.row_for(visit_id) if visit_list is not None else None

    def open_compare(self, codes: list[str]) -> bool:
        """Compare these products side by side (at most three; more are refused with a line)."""
        return self.showcase.open_compare(codes)

    def open_presentation(self, code: str) -> bool:
        """Turn the tablet toward the customer with this product; staff leave with PIN/gesture."""
        return self.showcase.open_presentation([code])

    def toggle_language(self) -> None:
        """中文 ⇄ English: every screen redraws in the other language; the device remembers it."""
        self.show_language(EN if shown_language() == DEFAULT_LOCALE else DEFAULT_LOCALE)
        self.tablet.store.save_settings(language=shown_language())

    def show_language(self, locale: str) -> None:
        """Switch every text on screen to `locale` now (kv rules re-run, Python text redraws)."""
        use_language(locale)
        self.language = locale
        for screen in self.manager.screens:
            card = getattr(screen, "brief_card", None)
            if card is not None:
                card.drawn = None  # the card's text is built in Python: build it again
        self.tablet.state.touch()

    def show_setup(self) -> None:
        """The revoked notice was read: on to the enrolment form."""
        self.revocation_seen = True
        self.redraw()

    def paint_background(self, on: bool) -> None:
        """Draw an opaque background in the widget itself (for PNG exports; costs a fill)."""
        self.canvas.before.clear()
        if on:
            with self.canvas.before:
                Color(*theme.BG)
                Rectangle(pos=self.pos, size=self.size)

    # -- refresh --------------------------------------------------------------------------
    def tick(self, *_: Any) -> None:
        """Pump the tablet; ask for a redraw if anything changed (called every frame)."""
        self.tablet.pump()
        if not self.tablet.wiped:
            self.revocation_seen = False
        wanted = screen_name(self.tablet, self.revocation_seen)
        if wanted != self.drawn_screen or self.tablet.state.revision != self.drawn_revision:
            # Refresh now rather than through `redraw`: a trigger set from a frame's callback
            # runs in the next loop turn, a frame later. The pump took the whole burst, so this
            # is still one refresh per frame.
            self.redraw.cancel()
            self._refresh()

    def _refresh(self, *_args: Any) -> None:
        t = self.tablet
        wanted = screen_name(t, self.revocation_seen)
        if wanted != self.drawn_screen:
            if self.drawn_screen in WORK_SCREENS or wanted in ("login", "setup", "revoked"):
                forget_widget_caches()
            self.drawn_screen = wanted
            self.manager.current = wanted
        self.drawn_revision = t.state.revision
        self.presenting = wanted == "present"
        if self.presenting:  # nothing of the frame: it comes back, up to date, on leaving
            self.staff_line = self.link_text = self.banner_text = self.alert_text = ""
            self.update_text = self.status_text = ""
            hide_offer(self.ids.offer)
            self.screen.refresh()
            return
        state = t.state
        session = state.session
        self.logged_in = session is not None
        self.language = shown_language()
        self.staff_line = f"{session.name}  ·  {words.role_title(session.role)}" if session else ""
        link = "●  " + _("Connected") if state.connected else "○  " + _("Not connected")
        self.link_text = link if session else ""
        note = state.notifications[-1] if state.notifications else None
        self.banner_text = f"★  {again(note.text)}" if note else ""
        self.alert_text = "  |  ".join(again(a.text) for a in state.alerts.values())
        waiting = self.update_ready and session is not None
        self.update_text = (
            _("A new version is ready; it starts when you log out") if waiting else ""
        )
        self.ids.offer.show(t)
        # The revoked notice says it all; a later failure's line would only confuse.
        self.status_text = "" if wanted == "revoked" else again(t.message)
        self.screen.refresh()


class TabletApp(App):  # type: ignore[misc]
    """The app: one view, ticked every frame; pause and stop wipe customer data."""

    def __init__(self, tablet: Tablet, *, updates: UpdateWatcher | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.tablet = tablet
        self.view: TabletView | None = None
        self.title = _("Branch assistant")
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
        elif self.view is not None and not self.view.update_ready:
            self.view.update_ready = True  # say so: whoever is logged in decides when
            self.tablet.state.touch()

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
