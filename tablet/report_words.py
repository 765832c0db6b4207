"""The branch report in staff's words: headline tiles, chart bars and staff rows (no Kivy here)."""

from __future__ import annotations

from dataclasses import dataclass

from branch_hub.client.models import BranchReport, StaffLine
from tablet.i18n import N_, _
from tablet.words import product_name, role_title, tier_name

__all__ = [
    "PERIODS",
    "Bar",
    "Tile",
    "confirmed_bars",
    "conversion_bars",
    "headline",
    "hour_bars",
    "method_bars",
    "minutes",
    "percent",
    "period_text",
    "staff_rows",
    "wait_bars",
]

PERIODS = {"day": N_("Today"), "week": N_("This week"), "month": N_("This month")}
LEAD_TYPES = {
    "large_cd": N_("Large certificate of deposit"),
    "fund_sip": N_("Fund savings plan"),
    "wealth": N_("Wealth product"),
    "insurance": N_("Insurance"),
    "payroll": N_("Payroll account"),
    "unknown": N_("Other"),
}
# How the kiosk recognised the customer (the report's `recognition.by_method` keys).
METHODS = {
    "chip_card": N_("Bank card (chip)"),
    "stripe": N_("Bank card (stripe)"),
    "passbook": N_("Passbook"),
    "id_card": N_("ID card"),
    "walk_in": N_("Not recognised"),
    "card": N_("Bank card (older record)"),  # stored before chip and stripe were told apart
    "appointment_qr": N_("Appointment QR code"),
}


@dataclass(frozen=True)
class Tile:
    """One headline figure: the number as shown and what it counts."""

    value: str
    caption: str


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label, value text, length and target mark (fractions of the axis)."""

    label: str
    value: str
    fraction: float
    target: float | None = None
    over: bool = False  # past its target: drawn in the alert colour


def percent(share: float | None) -> str:
    """A share as 62%, or a dash with nothing to divide."""
    return "—" if share is None else f"{round(share * 100)}%"


def minutes(seconds: float | None) -> str:
    """Seconds as minutes, 4.5 分钟 / 4.5 min (a dash for none)."""
    if seconds is None:
        return "—"
    return _("{minutes} min").format(minutes=f"{seconds / 60:.1f}")


def period_text(report: BranchReport) -> str:
    """The period's heading: 今天 2026-03-02 or 本周 2026-03-02 – 2026-03-08."""
    name = _(PERIODS.get(report.period, PERIODS["day"]))
    if report.first_day == report.last_day:
        return f"{name}  {report.first_day}"
    return f"{name}  {report.first_day} – {report.last_day}"


def headline(report: BranchReport) -> list[Tile]:
    """The figures a manager reads first."""
    leads, taken = report.leads.total, report.handoffs.taken_after
    presented = sum(p.presented for p in report.product_views.presented_by_product)
    booked = report.appointments
    came = booked.checked_in.early + booked.checked_in.on_time + booked.checked_in.late
    return [
        Tile(str(report.arrivals.total), _("Arrivals")),
        Tile(percent(report.recognition.recognised_share), _("Recognised")),
        Tile(str(report.no_shows), _("No-shows")),
        Tile(str(report.transfers), _("Transfers")),
        Tile(f"{leads.accepted} / {leads.presented}", _("Leads accepted / pitched")),
        Tile(percent(leads.conversion), _("Lead conversion")),
        Tile(f"{leads.confirmed} / {leads.accepted}", _("Confirmed / accepted")),
        Tile(str(report.handoffs.accepted), _("Hand-offs taken")),
        Tile(minutes(taken.p50_s), _("Median time to take")),
        Tile(str(presented), _("Products presented")),
        Tile(f"{came} / {booked.booked}", _("Appointments kept / booked")),
        Tile(str(booked.no_show), _("Appointment no-shows")),
    ]


def hour_bars(report: BranchReport) -> list[Bar]:
    """Arrivals by hour of the day, each hour's bar against the busiest hour."""
    hours = report.arrivals.by_hour
    top = max((h.arrivals for h in hours), default=0) or 1
    return [Bar(f"{h.hour:02d}", str(h.arrivals), h.arrivals / top) for h in hours]


def wait_bars(report: BranchReport) -> list[Bar]:
    """Waits by tier: p90 as the bar, the tier's target as the mark (p50 in the value text)."""
    waits = [w for w in report.waits if w.called]
    # No ticket called yet (a quiet morning): no bars, and no axis to measure them against.
    axis = max([w.p90_s or 0 for w in waits] + [w.target_s or 0 for w in waits], default=0) or 1
    bars = []
    for w in waits:
        value = _("median {p50} · 90% {p90}").format(p50=minutes(w.p50_s), p90=minutes(w.p90_s))
        bars.append(
            Bar(
                tier_name(None if w.tier == "walk_in" else w.tier) or _("Walk-in"),
                value,
                (w.p90_s or 0) / axis,
                None if w.target_s is None else w.target_s / axis,
                bool(w.breaches),
            )
        )
    return bars


def lead_type_name(code: str) -> str:
    """A lead type's name (HQ's product code), the code itself when this table lacks it."""
    name = LEAD_TYPES.get(code)
    return _(name) if name else product_name(code)


def conversion_bars(report: BranchReport) -> list[Bar]:
    """Conversion by lead type: accepted of those pitched (not-suitable leads left out)."""
    return [
        Bar(
            lead_type_name(line.key),
            f"{percent(line.conversion)}  ({line.accepted}/{line.presented - line.not_suitable})",
            line.conversion or 0.0,
        )
        for line in report.leads.by_lead_type
    ]


def confirmed_bars(report: BranchReport) -> list[Bar]:
    """By lead type: of the leads staff reported accepted, how many HQ confirmed as purchased."""
    return [
        Bar(
            lead_type_name(line.key),
            _("{confirmed} of {accepted} accepted · {rate}").format(
                confirmed=line.confirmed, accepted=line.accepted, rate=percent(line.confirmed_rate)
            ),
            line.confirmed_rate or 0.0,
        )
        for line in report.leads.by_lead_type
        if line.accepted
    ]


def staff_rows(staff: tuple[StaffLine, ...]) -> list[list[str]]:
    """The staff table's rows: name, role, served, median service, idle while customers waited,
    leads accepted/pitched, confirmed purchases, conversion, hand-offs taken."""
    rows = []
    for line in staff:
        rows.append(
            [
                line.name or _("Staff"),
                role_title(line.role),
                str(line.service.count),
                minutes(line.service.p50_s),
                minutes(line.idle_while_waiting_s),
                f"{line.leads.accepted}/{line.leads.presented}",
                str(line.leads.confirmed),
                percent(line.leads.conversion),
                str(line.handoffs_taken.count),
            ]
        )
    return rows


def staff_headings() -> list[str]:
    """The staff table's column headings in the language shown now."""
    return [
        _("Name"),
        _("Role"),
        _("Served"),
        _("Median service"),
        _("Idle while customers waited"),
        _("Leads accepted"),
        _("Confirmed purchases"),
        _("Conversion"),
        _("Hand-offs taken"),
    ]


def method_bars(report: BranchReport) -> list[Bar]:
    """Visits by how the kiosk recognised the customer, each against all visits."""
    recognition = report.recognition
    total = recognition.visits or 1
    return [
        Bar(_(METHODS[key]) if key in METHODS else key, f"{n}  ({percent(n / total)})", n / total)
        for key, n in recognition.by_method.items()
    ]
