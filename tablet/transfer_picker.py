"""The transfer picker of the counter: a service and (optionally) a counter, by their names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.factory import Factory
from kivy.graphics import Color, Rectangle
from kivy.metrics import dp
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout

from branch_hub.client.models import CounterTarget, QueueTargets
from tablet import theme
from tablet.i18n import _
from tablet.overlay import Overlay

__all__ = ["TransferPicker", "counter_state"]

Choose = Callable[[str | None, str | None], None]
_SCRIM = (0.0, 0.0, 0.0, 0.45)


def counter_state(counter: CounterTarget) -> str:
    """A counter's name with whether it is free, busy or closed: 2号窗口 · 空闲."""
    if not counter.open:
        return _("{name} · closed").format(name=counter.name_zh)
    if counter.serving:
        return _("{name} · busy").format(name=counter.name_zh)
    return _("{name} · free").format(name=counter.name_zh)


def _grid() -> GridLayout:
    grid = GridLayout(cols=3, size_hint_y=None, spacing=dp(theme.SPACE["s"]))
    grid.row_default_height = grid.row_force_default = dp(theme.BUTTON_H)
    grid.bind(minimum_height=grid.setter("height"))
    return grid


class TransferPicker(Overlay):
    """Drawn over the counter screen: pick a service, then a counter or any counter, then send."""

    def __init__(
        self,
        ticket: str,
        current_service: str,
        own_counter: str,
        send: Choose,
        close: Callable[[], None],
        **kw: Any,
    ) -> None:
        super().__init__(anchor_x="center", anchor_y="center", **kw)
        self.ticket, self.current_service, self.own_counter = ticket, current_service, own_counter
        self.send, self.close = send, close
        self.service: str | None = None
        self.counter: str | None = None
        self.targets: QueueTargets | None = None
        self.buttons: dict[str, Button] = {}
        with self.canvas.before:
            Color(*_SCRIM)
            self._scrim = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._cover, size=self._cover)
        self.panel = Factory.Panel(size_hint=(0.72, None))
        self.panel.bind(minimum_height=self.panel.setter("height"))
        self.add_widget(self.panel)
        self.draw()

    def _cover(self, *_: Any) -> None:
        self._scrim.pos, self._scrim.size = self.pos, self.size

    def show(self, targets: QueueTargets | None) -> None:
        """Draw again with the hub's services and counters (None: still loading)."""
        if targets is not self.targets:
            self.targets = targets
            self.draw()

    def draw(self) -> None:
        """Lay out the choices and the two actions."""
        panel = self.panel
        panel.clear_widgets()
        self.buttons = {}
        panel.add_widget(Factory.Title(text=_("Transfer {ticket}").format(ticket=self.ticket)))
        if self.targets is None:
            panel.add_widget(Factory.Caption(text=_("Loading services and counters…")))
        else:
            self._services(self.targets)
            self._counters(self.targets)
        row = Factory.ButtonRow()
        for key, kind, text, press in (
            ("transfer_cancel", "QuietButton", _("Cancel"), self.close),
            ("transfer_confirm", "PrimaryButton", _("Transfer"), self._confirm),
        ):
            button = getattr(Factory, kind)(text=text)
            button.bind(on_release=lambda *_, p=press: p())
            self.buttons[key] = button
            row.add_widget(button)
        panel.add_widget(row)

    def _choice(self, grid: GridLayout, key: str, text: str, chosen: bool, press: Any) -> None:
        button = (Factory.PrimaryButton if chosen else Factory.QuietButton)(text=text)
        button.bind(on_release=lambda *_: press())
        self.buttons[key] = button
        grid.add_widget(button)

    def _services(self, targets: QueueTargets) -> None:
        self.panel.add_widget(Factory.Heading(text=_("To the queue of")))
        grid = _grid()
        for service in targets.services:
            text = _("{name} ({waiting} waiting)").format(
                name=service.name_zh, waiting=service.waiting
            )
            chosen = service.code == self.service
            self._choice(
                grid, f"pick_service:{service.code}", text, chosen, self._pick(service.code)
            )
        self.panel.add_widget(grid)

    def _counters(self, targets: QueueTargets) -> None:
        self.panel.add_widget(Factory.Heading(text=_("At the counter (optional)")))
        grid = _grid()
        self._choice(
            grid, "pick_counter:any", _("Any counter"), self.counter is None, self._at(None)
        )
        for counter in targets.counters_for(self.service or self.current_service):
            if counter.counter_id != self.own_counter:
                chosen = counter.counter_id == self.counter
                key = f"pick_counter:{counter.counter_id}"
                self._choice(
                    grid, key, counter_state(counter), chosen, self._at(counter.counter_id)
                )
        self.panel.add_widget(grid)

    def _pick(self, code: str) -> Callable[[], None]:
        def press() -> None:
            self.service = code
            self.counter = None  # the counters on offer follow the service
            self.draw()

        return press

    def _at(self, counter_id: str | None) -> Callable[[], None]:
        def press() -> None:
            self.counter = counter_id
            self.draw()

        return press

    def _confirm(self) -> None:
        if self.service is None and self.counter is None:
            return  # nothing chosen yet: the picker stays open
        self.send(self.service, self.counter)
        self.close()
