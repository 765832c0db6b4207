"""The branch report screen of the branch and lobby managers: day, week and month in pictures.

The report is fetched on the app's asyncio loop (`AsyncHubClient.branch_report`) and kept in
`TabletState.report` (dropped with the session); the charts are Kivy canvas bars
(`ReportBar`, `HourChart`), their words from tablet/report_words.py, laid out by tablet/kv/report.kv.
"""

from __future__ import annotations

from typing import Any

from kivy.factory import Factory
from kivy.graphics import Color, Line, Rectangle
from kivy.metrics import dp
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from tablet import screens, theme
from tablet.board_view import open_screen
from tablet.i18n import _, language
from tablet.report_words import (
    PERIODS,
    Bar,
    confirmed_bars,
    conversion_bars,
    headline,
    hour_bars,
    method_bars,
    period_text,
    staff_headings,
    staff_rows,
    wait_bars,
)
from tablet.screens import TabletScreen
from tablet.worker import once_more_async

__all__ = ["HourChart", "ReportBar", "ReportScreen", "load_report"]

screens.KV_FILES += ("report",)


def load_report(tablet: Any, period: str) -> None:
    """Fetch the branch report for today's day, week or month on the app's loop."""
    tablet.activity()
    tablet.state.report = None

    async def job() -> Any:
        client = tablet._aclient()
        return await once_more_async(lambda: client.branch_report(period))

    tablet.submit("report", job)


class ReportBar(BoxLayout):  # type: ignore[misc]
    """One labelled horizontal bar, with an optional target mark (tablet/kv/report.kv draws it)."""

    label = StringProperty("")
    value = StringProperty("")
    fraction = NumericProperty(0.0)
    target = NumericProperty(-1.0)  # below 0: no target
    over = BooleanProperty(False)


class HourChart(Widget):  # type: ignore[misc]
    """Arrivals by hour as upright bars, the busiest hour full height."""

    bars = ListProperty([])
    labels = ObjectProperty(None)  # the BoxLayout under the chart holding the hour labels

    def on_bars(self, *_: Any) -> None:
        """Redraw with new data."""
        self.draw()

    def on_size(self, *_: Any) -> None:
        """Redraw at the new size."""
        self.draw()

    def on_pos(self, *_: Any) -> None:
        """Redraw at the new place."""
        self.draw()

    def draw(self) -> None:
        """The bars and the baseline, in the canvas."""
        self.canvas.clear()
        bars: list[Bar] = list(self.bars)
        with self.canvas:
            Color(*theme.LINE)
            Line(points=[self.x, self.y, self.right, self.y], width=dp(1))
            if not bars:
                return
            slot = self.width / len(bars)
            gap = min(dp(6), slot / 4)
            Color(*theme.NAVY)
            for i, bar in enumerate(bars):
                height = max(dp(2), (self.height - dp(24)) * bar.fraction) if bar.fraction else 0
                Rectangle(pos=(self.x + i * slot + gap, self.y), size=(slot - 2 * gap, height))
        self._label(bars)

    def _label(self, bars: list[Bar]) -> None:
        """Hour under each bar and its count above it (Labels, so the app's font draws them)."""
        if self.labels is None:
            return
        cells = list(reversed(self.labels.children))
        while len(cells) < len(bars):
            cell = Factory.HourCell()
            self.labels.add_widget(cell)
            cells.append(cell)
        for cell in cells[len(bars) :]:
            self.labels.remove_widget(cell)
        for cell, bar in zip(cells, bars, strict=False):
            cell.text = f"{bar.label}\n{bar.value}"


class ReportScreen(TabletScreen):
    """Headline figures, arrivals by hour, waits by tier, conversion by lead type, staff table."""

    period = StringProperty("day")
    heading = StringProperty("")
    notice = StringProperty("")
    has_staff = BooleanProperty(False)
    _drawn: tuple[int, str] | None = None

    def on_enter(self, *_: Any) -> None:
        """Fetch the period shown, unless the tablet holds it already (a second view of it)."""
        held = self.view.tablet.state.report
        if held is None or held.period != self.period:
            self.show_period(self.period)

    def show_period(self, period: str) -> None:
        """Switch tab and fetch that period."""
        self.period = period if period in PERIODS else "day"
        load_report(self.view.tablet, self.period)
        self.refresh()

    def go_board(self) -> None:
        """Back to the lobby board (the report is fetched afresh next time)."""
        self.view.tablet.state.report = None
        open_screen(self.view.tablet, "board")

    def refresh(self) -> None:
        """Draw the report the tablet holds (or why there is none)."""
        tablet = self.view.tablet
        for key, words in PERIODS.items():
            self.ids[f"tab_{key}"].text = _(words)
            self.ids[f"tab_{key}"].on = key == self.period
        report = tablet.state.report
        if report is None:
            self.heading = ""
            self.notice = str(tablet.message) if not tablet.busy else _("Loading the report…")
            self._draw_empty()
            return
        self.notice = ""
        if self._drawn == (id(report), language()):
            return  # draw a report once: its widgets are not rebuilt on every event
        self._drawn = (id(report), language())
        self.heading = period_text(report)
        self._fill_tiles(report)
        self.ids.hours.bars = hour_bars(report)
        self._fill_bars("waits", wait_bars(report))
        self._fill_bars("conversion", conversion_bars(report))
        self._fill_bars("confirmed", confirmed_bars(report))
        self._fill_bars("methods", method_bars(report))
        self.has_staff = report.staff is not None
        self._fill_staff(staff_rows(report.staff) if report.staff is not None else [])

    def _draw_empty(self) -> None:
        self._drawn = None
        self.ids.hours.bars = []
        for box in ("tiles", "waits", "conversion", "confirmed", "staff", "methods"):
            self.ids[box].clear_widgets()
        self.has_staff = False

    def _fill_tiles(self, report: Any) -> None:
        box = self.ids.tiles
        box.clear_widgets()
        for tile in headline(report):
            cell = Factory.ReportTile()
            cell.value, cell.caption = tile.value, tile.caption
            box.add_widget(cell)

    def _fill_bars(self, box_id: str, bars: list[Bar]) -> None:
        box = self.ids[box_id]
        box.clear_widgets()
        if not bars:
            box.add_widget(Factory.Caption(text=_("Nothing yet in this period")))
        for bar in bars:
            target = -1.0 if bar.target is None else bar.target
            box.add_widget(
                ReportBar(
                    label=bar.label,
                    value=bar.value,
                    fraction=bar.fraction,
                    target=target,
                    over=bar.over,
                )
            )

    def _fill_staff(self, rows: list[list[str]]) -> None:
        grid = self.ids.staff
        grid.clear_widgets()
        if not rows:
            return
        for text in staff_headings():
            grid.add_widget(Factory.StaffCell(text=text, bold=True, color=theme.NAVY))
        for row in rows:
            for text in row:
                grid.add_widget(Factory.StaffCell(text=text))


screens.SCREENS["report"] = ReportScreen
