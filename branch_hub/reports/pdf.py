"""The branch report as A4 PDF pages for printing or mailing (reportlab, Chinese font embedded).

Page one: title, headline figures and the charts (vector graphics); page two: the tables and the
appointments (branch_hub/reports/pdf_appointments.py); page three: the per-staff table, only when
the report carries one (the branch manager's). Blocking: call it in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from branch_hub.reports.pdf_appointments import appointment_section
from branch_hub.reports.pdf_parts import (
    ACCENT,
    FONT_CANDIDATES,
    INK,
    SOFT,
    TARGET,
    WIDTH,
    ReportFontMissing,
)
from branch_hub.reports.pdf_parts import axes as _axes
from branch_hub.reports.pdf_parts import caption as _caption
from branch_hub.reports.pdf_parts import font as _font
from branch_hub.reports.pdf_parts import share as _share
from branch_hub.reports.pdf_parts import table as _table

__all__ = ["FONT_CANDIDATES", "ReportFontMissing", "report_pdf"]

PERIOD_ZH = {"day": "日报", "week": "周报", "month": "月报"}
WORDS_ZH = {
    "walk_in": "未识别客户",
    "credit_card": "信用卡",
    "fund": "基金",
    "insurance": "保险",
    "large_cd": "大额存单",
    "wealth_fixed": "固收理财",
    "has_similar": "已有同类产品",
    "rate_unattractive": "收益率不吸引",
    "no_funds_now": "暂无闲置资金",
    "wants_to_think": "想再考虑",
    "distrusts_type": "不信任此类产品",
    "other": "其他",
}


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, textColor=INK),
        "sub": ParagraphStyle("sub", fontName=font, fontSize=10, leading=14, textColor=SOFT),
        "h2": ParagraphStyle(
            "h2", fontName=font, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4
        ),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11),
    }


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} 分钟"


def _title(body: Mapping[str, Any], branch_name: str, st: dict[str, ParagraphStyle]) -> list[Any]:
    kind = PERIOD_ZH.get(body["period"], body["period"])
    first, last = body["first_day"], body["last_day"]
    dates = first if first == last else f"{first} 至 {last}"
    sub = (
        f"分行编号 {body['branch_id']} · {dates} · 营业日 {len(body['business_days'])} 天 · "
        f"生成于 {body['generated_at']}"
    )
    return [Paragraph(f"{branch_name} · 分行{kind}", st["title"]), Paragraph(sub, st["sub"])]


def _headline(body: Mapping[str, Any]) -> Table:
    leads, handoffs = body["leads"]["total"], body["handoffs"]
    cells = [
        ("到店客户", str(body["arrivals"]["total"])),
        ("识别率", _share(body["recognition"]["recognised_share"])),
        ("过号未到", str(body["no_shows"])),
        ("转办", str(body["transfers"])),
        ("营销推荐", str(leads["presented"])),
        ("客户接受 (总行确认)", f"{leads['accepted']} ({leads['confirmed']})"),
        ("营销转化率", _share(leads["conversion"])),
        ("转介 (已接)", f"{handoffs['given']} ({handoffs['accepted']})"),
    ]
    texts = [f"{value}\n{label}" for label, value in cells]
    rows = [texts[:4], texts[4:]]
    table = Table(rows, colWidths=[WIDTH / 4] * 4, rowHeights=[15 * mm] * 2)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), _font(), 13, 17),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.6, SOFT),
                ("INNERGRID", (0, 0), (-1, -1), 0.3, SOFT),
                ("TEXTCOLOR", (0, 0), (-1, -1), INK),
            ]
        )
    )
    return table


def _arrivals_chart(body: Mapping[str, Any]) -> Drawing:
    font = _font()
    hours = body["arrivals"]["by_hour"]
    drawing = Drawing(WIDTH, 58 * mm)
    _caption(drawing, "每小时到店人数", font)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 18, WIDTH - 40, 58 * mm - 40
    chart.data = [[h["arrivals"] for h in hours] or [0]]
    chart.categoryAxis.categoryNames = [f"{h['hour']}时" for h in hours] or ["—"]
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    chart.valueAxis.valueMin = 0
    _axes(chart, font)
    drawing.add(chart)
    return drawing


def _waits_chart(body: Mapping[str, Any], zh: Mapping[str, str]) -> Drawing:
    """p50 and p90 wait per tier in minutes, with each tier's target as a red line over its bars."""
    font = _font()
    tiers: Sequence[Mapping[str, Any]] = body["waits"]
    drawing = Drawing(WIDTH, 62 * mm)
    _caption(drawing, "各客户等级等候时间（分钟）：浅色 中位数，深色 90% 分位，红线 目标", font)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 18, WIDTH - 40, 62 * mm - 44
    chart.data = [
        [(t["p50_s"] or 0) / 60 for t in tiers] or [0],
        [(t["p90_s"] or 0) / 60 for t in tiers] or [0],
    ]
    chart.categoryAxis.categoryNames = [
        f"{zh.get(t['tier'], t['tier'])}（{t['called']}人）" for t in tiers
    ] or ["—"]
    chart.bars[0].fillColor, chart.bars[1].fillColor = colors.HexColor("#90caf9"), ACCENT
    chart.bars.strokeColor = None
    chart.valueAxis.valueMin = 0
    top = max([*chart.data[1], *((t["target_s"] or 0) / 60 for t in tiers), 1.0])
    chart.valueAxis.valueMax = top * 1.15
    _axes(chart, font)
    drawing.add(chart)
    slot = chart.width / max(len(tiers), 1)
    for index, tier in enumerate(tiers):
        if tier["target_s"] is None:
            continue
        y = chart.y + chart.height * (tier["target_s"] / 60) / chart.valueAxis.valueMax
        x = chart.x + slot * index
        drawing.add(Line(x + 4, y, x + slot - 4, y, strokeColor=TARGET, strokeWidth=1.6))
    return drawing


def _conversion_chart(body: Mapping[str, Any], zh: Mapping[str, str]) -> Drawing:
    font = _font()
    lines = body["leads"]["by_lead_type"]
    height = max(40 * mm, (len(lines) * 9 + 30) * mm / 3)
    drawing = Drawing(WIDTH, height)
    caption = "各营销类型：转化率（员工登记接受 ÷ 适合推荐，绿）与确认购买率（总行确认 ÷ 接受，蓝）"
    _caption(drawing, caption, font)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 90, 14, WIDTH - 110, height - 34
    chart.data = [
        [(line["conversion"] or 0) * 100 for line in lines] or [0],
        [(line["confirmed_rate"] or 0) * 100 for line in lines] or [0],
    ]
    chart.categoryAxis.categoryNames = [
        f"{zh.get(line['key'], line['key'])}（{line['accepted']}/{line['presented']}，"
        f"确认 {line['confirmed']}）"
        for line in lines
    ] or ["—"]
    chart.bars[0].fillColor = colors.HexColor("#2e7d32")
    chart.bars[1].fillColor = colors.HexColor("#1565c0")
    chart.bars.strokeColor = None
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
    chart.valueAxis.labelTextFormat = "%d%%"
    _axes(chart, font)
    drawing.add(chart)
    return drawing


_NO_LEADS = {"presented": 0, "accepted": 0, "confirmed": 0, "declined": 0, "conversion": None}


def _products(body: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Lead outcomes and presentation-mode views per product, one row per product code."""
    shown = {
        p["product_code"]: p["presented"] for p in body["product_views"]["presented_by_product"]
    }
    lines = {p["key"]: p for p in body["leads"]["by_product"]}
    rows = []
    for code in sorted(set(shown) | set(lines)):
        line = lines.get(code) or _NO_LEADS
        rows.append(
            (
                code,
                line["presented"],
                line["accepted"],
                line["confirmed"],
                line["declined"],
                _share(line["conversion"]),
                shown.get(code, 0),
            )
        )
    return rows


def _tables(
    body: Mapping[str, Any], st: dict[str, ParagraphStyle], zh: Mapping[str, str]
) -> list[Flowable]:
    reasons = sorted(body["leads"]["declined_by_reason"].items(), key=lambda kv: -kv[1])
    waits = [
        (
            zh.get(t["tier"], t["tier"]),
            t["called"],
            _minutes(t["p50_s"]),
            _minutes(t["p90_s"]),
            _minutes(t["target_s"]),
            "—" if t["breaches"] is None else t["breaches"],
        )
        for t in body["waits"]
    ]
    product_header = ("产品", "营销推荐", "员工登记接受", "总行确认购买", "婉拒", "转化率", "演示")
    return [
        Paragraph("等候时间与目标", st["h2"]),
        _table(("客户等级", "叫号", "中位数", "90% 分位", "目标", "超时"), waits, _six),
        *appointment_section(body, st),
        Paragraph("客户婉拒原因", st["h2"]),
        _table(("原因", "次数"), [(zh.get(k, k), n) for k, n in reasons], (0.7, 0.3)),
        Paragraph("各产品营销结果与演示模式展示", st["h2"]),
        _table(product_header, _products(body), _seven),
    ]


_six = (0.25, 0.1, 0.17, 0.17, 0.17, 0.14)
_seven = (0.2, 0.1, 0.15, 0.15, 0.1, 0.15, 0.15)


def _staff_table(staff: Sequence[Mapping[str, Any]], st: dict[str, ParagraphStyle]) -> list[Any]:
    rows = [
        (
            line["name"] or line["staff_id"],
            line["service"]["count"],
            _minutes(line["service"]["p50_s"]),
            _minutes(line["idle_while_waiting_s"]),
            f"{line['leads']['accepted']}/{line['leads']['presented']}",
            line["leads"]["confirmed"],
            _share(line["leads"]["conversion"]),
            line["handoffs_given"],
            line["product_views"],
        )
        for line in staff
    ]
    header = (
        "员工", "办理", "办理中位", "客户等候时空闲", "接受/推荐", "确认购买", "转化率", "转介", "展示"
    )  # fmt: skip
    widths = (0.16, 0.07, 0.11, 0.16, 0.12, 0.1, 0.1, 0.09, 0.09)
    return [Paragraph("员工表（仅分行行长可见）", st["h2"]), _table(header, rows, widths)]


# Recognition methods (the report's `by_method` keys); `card`: visits that did not say which.
METHODS_ZH = {
    "chip_card": "银行卡（芯片）",
    "stripe": "银行卡（磁条）",
    "passbook": "存折",
    "id_card": "身份证",
    "walk_in": "未识别客户",
    "card": "银行卡（旧记录）",  # chip or stripe not recorded
    "appointment_qr": "预约二维码",
}


def _methods(body: Mapping[str, Any], st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """Visits by how the kiosk recognised the customer: one row, each method with its share."""
    recognition = body["recognition"]
    visits, counts = recognition["visits"], recognition["by_method"]
    header = [METHODS_ZH.get(key, key) for key in counts]
    row = [f"{n}（{_share(n / visits if visits else None)}）" for n in counts.values()]
    return [
        Paragraph("客户识别方式", st["h2"]),
        _table(header, [row], [1 / len(header)] * len(header)),
    ]


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(_font(), 8)
    canvas.setFillColor(SOFT)
    canvas.drawString(18 * mm, 10 * mm, "仅含汇总数据，不含客户身份信息")
    canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {doc.page} 页")
    canvas.restoreState()


def report_pdf(
    body: Mapping[str, Any], branch_name: str, tier_names: Mapping[str, str] | None = None
) -> bytes:
    """The report's A4 pages as a PDF, tiers by their Chinese names (blocking: a worker's)."""
    st, zh = _styles(), WORDS_ZH | dict(tier_names or {})
    story: list[Flowable] = [*_title(body, branch_name, st), Spacer(1, 5 * mm), _headline(body)]
    story += [Spacer(1, 5 * mm), _arrivals_chart(body), _waits_chart(body, zh)]
    story += [_conversion_chart(body, zh), *_methods(body, st)]
    story += [PageBreak(), *_tables(body, st, zh)]
    if body.get("staff") is not None:
        story += [PageBreak(), *_staff_table(body["staff"], st)]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{branch_name} {PERIOD_ZH.get(body['period'], '')} {body['first_day']}",
        author="branch-edge",
    )
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return out.getvalue()
