"""The report PDF's appointments: how the booked customers came, in a table, a chart and by channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph
from reportlab.platypus.flowables import Flowable

from branch_hub.reports.pdf_parts import WIDTH, axes, caption, font, share, table

__all__ = ["CHANNELS_ZH", "OUTCOMES_ZH", "appointment_section"]

# The report's outcomes in the order a customer's day runs; `missed`: came after the grace.
OUTCOMES_ZH = {
    "early": "提前签到",
    "on_time": "准时签到",
    "late": "迟到签到",
    "missed": "超时到店",
    "no_show": "爽约未到",
    "pending": "待到店",
}
CHANNELS_ZH = {
    "mobile_banking": "手机银行",
    "call_centre": "客服中心",
    "manager": "客户经理",
    "branch": "网点预约",
}
_COLOURS = ("#90caf9", "#1565c0", "#f9a825", "#ef6c00", "#c62828", "#9aa5b1")


def _outcomes(figures: Mapping[str, Any]) -> dict[str, int]:
    checked = figures["checked_in"]
    return {
        "early": checked["early"],
        "on_time": checked["on_time"],
        "late": checked["late"],
        "missed": figures["missed"],
        "no_show": figures["no_show"],
        "pending": figures["pending"],
    }


def _chart(outcomes: Mapping[str, int]) -> Drawing:
    """One bar per outcome, the booked customers' day at a glance."""
    name = font()
    drawing = Drawing(WIDTH, 38 * mm)
    caption(drawing, "预约客户到店情况（人）", name)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 70, 8, WIDTH - 90, 38 * mm - 24
    keys = list(outcomes)[::-1]  # the chart draws its first category at the bottom
    chart.data = [[outcomes[k] for k in keys]]
    chart.categoryAxis.categoryNames = [OUTCOMES_ZH[k] for k in keys]
    chart.bars.strokeColor = None
    for index, colour in enumerate(_COLOURS[::-1]):
        chart.bars[(0, index)].fillColor = colors.HexColor(colour)
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max([*outcomes.values(), 1]) * 1.1
    axes(chart, name)
    drawing.add(chart)
    return drawing


def appointment_section(
    body: Mapping[str, Any], st: Mapping[str, ParagraphStyle]
) -> list[Flowable]:
    """预约到店: the outcomes as a row, as a chart, and the bookings by channel (none if absent)."""
    figures = body.get("appointments")
    if figures is None:
        return []
    booked, outcomes = figures["booked"], _outcomes(figures)
    header = ("预约", *OUTCOMES_ZH.values())
    row = (booked, *outcomes.values())
    channels = [
        (CHANNELS_ZH.get(key, key), n, share(n / booked if booked else None))
        for key, n in sorted(figures["by_channel"].items(), key=lambda kv: -kv[1])
    ]
    out: list[Flowable] = [
        Paragraph("预约到店", st["h2"]),
        table(header, [row], [1 / len(header)] * len(header)),
    ]
    if booked:
        out.append(_chart(outcomes))
    out += [
        Paragraph("预约渠道", st["h2"]),
        table(("渠道", "预约", "占比"), channels, (0.5, 0.25, 0.25)),
    ]
    return out
