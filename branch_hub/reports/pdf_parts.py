"""What the report's PDF sections share: the embedded CJK font, the page width, colours, tables."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Table, TableStyle

__all__ = [
    "ACCENT",
    "FONT_CANDIDATES",
    "INK",
    "SOFT",
    "TARGET",
    "WIDTH",
    "ReportFontMissing",
    "axes",
    "caption",
    "font",
    "share",
    "table",
]

# TrueType-outline CJK fonts only: reportlab cannot embed the CFF outlines of Noto Sans CJK.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FONT = "BranchReportCJK"
WIDTH = A4[0] - 36 * mm
INK, SOFT, ACCENT, TARGET = (
    colors.HexColor("#1f2933"),
    colors.HexColor("#9aa5b1"),
    colors.HexColor("#1565c0"),
    colors.HexColor("#c62828"),
)


class ReportFontMissing(RuntimeError):
    """No TrueType CJK font on the machine: the PDF would print boxes instead of Chinese."""


@cache
def font() -> str:
    """Register the first CJK font found ($REPORT_FONT first) and return its name."""
    chosen = os.environ.get("REPORT_FONT")
    for candidate in (chosen, *FONT_CANDIDATES) if chosen else FONT_CANDIDATES:
        if Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont(FONT, candidate, subfontIndex=0))
            return FONT
    raise ReportFontMissing("no TrueType CJK font: install fonts-wqy-microhei")


def share(value: float | None) -> str:
    """A share as a whole percentage, or a dash when there is nothing to share."""
    return "—" if value is None else f"{value * 100:.0f}%"


def axes(chart: VerticalBarChart | HorizontalBarChart, name: str) -> None:
    """Small labels in the CJK font, soft axes and a light grid."""
    for axis in (chart.categoryAxis, chart.valueAxis):
        axis.labels.fontName = name
        axis.labels.fontSize = 7
        axis.strokeColor = SOFT
    chart.valueAxis.gridStrokeColor = colors.HexColor("#e4e7eb")
    chart.valueAxis.visibleGrid = True


def caption(drawing: Drawing, text: str, name: str) -> None:
    """A chart's title along its top edge."""
    drawing.add(String(0, drawing.height - 10, text, fontName=name, fontSize=10, fillColor=INK))


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> Table:
    """A header row over striped rows, numbers right-aligned; "（无）" when there are no rows."""
    body = [list(header), *([str(c) for c in row] for row in rows)]
    if not rows:
        body.append(["（无）", *[""] * (len(header) - 1)])
    out = Table(body, colWidths=[WIDTH * w for w in widths], repeatRows=1)
    out.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font(), 8, 10),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3f2fd")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f5f7fa")]),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, SOFT),
                ("BOX", (0, 0), (-1, -1), 0.4, SOFT),
            ]
        )
    )
    return out
