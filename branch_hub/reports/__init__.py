"""Branch reports: a day's, week's or month's aggregates for the branch's managers."""

from branch_hub.reports.desk import ReportAnswer, ReportDesk, ReportSources
from branch_hub.reports.period import BadReportPeriod, Period, PeriodKind, period_of
from branch_hub.reports.work_figures import ConfirmedPurchase, LeadFacts, LeadLookup

__all__ = [
    "BadReportPeriod",
    "ConfirmedPurchase",
    "LeadFacts",
    "LeadLookup",
    "Period",
    "PeriodKind",
    "ReportAnswer",
    "ReportDesk",
    "ReportSources",
    "period_of",
]
