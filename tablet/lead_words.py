"""What the tablet says about leads: score bands, outcomes, decline reasons, follow-up choices.

Pure functions (no Kivy), English in the code and Chinese from the tablet's catalogue.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from branch_hub.client import DeclineReason, LeadOutcome
from branch_hub.client.models import HeldBackLead, RecordedOutcome
from tablet.i18n import N_, _
from tablet.words import role_title

__all__ = [
    "DECLINE_REASONS",
    "FOLLOW_UP_DAYS",
    "OFFERED_OUTCOMES",
    "UNSUITABLE_OUTCOMES",
    "follow_up_choice",
    "held_back_line",
    "reason_name",
    "recorded_line",
    "score_band",
    "short_date",
]

SCORE_BANDS = {"high": N_("High"), "mid": N_("Medium"), "low": N_("Low")}
# The buttons under a lead, in the order staff meet them.
OFFERED_OUTCOMES = (
    (LeadOutcome.ACCEPTED, N_("Accepted")),
    (LeadOutcome.DECLINED, N_("Declined…")),
    (LeadOutcome.FOLLOW_UP, N_("Follow up…")),
    (LeadOutcome.NOT_SUITABLE, N_("Not suitable")),
)
UNSUITABLE_OUTCOMES = ((LeadOutcome.NOT_SUITABLE, N_("Not suitable")),)
RECORDED = {
    LeadOutcome.ACCEPTED: N_("Accepted"),
    LeadOutcome.DECLINED: N_("Declined"),
    LeadOutcome.FOLLOW_UP: N_("Follow up"),
    LeadOutcome.NOT_SUITABLE: N_("Not suitable"),
    LeadOutcome.NOT_INTERESTED: N_("Not interested"),
}
DECLINE_REASONS = {
    DeclineReason.HAS_SIMILAR: N_("Already has a similar product"),
    DeclineReason.RATE_UNATTRACTIVE: N_("Return not attractive"),
    DeclineReason.NO_FUNDS_NOW: N_("No spare funds now"),
    DeclineReason.WANTS_TO_THINK: N_("Wants to think it over"),
    DeclineReason.DISTRUSTS_TYPE: N_("Distrusts this kind of product"),
    DeclineReason.OTHER: N_("Other reason"),
}
FOLLOW_UP_DAYS = (1, 3, 7, 14)
_IN_DAYS = {
    1: N_("Tomorrow"),
    3: N_("In 3 days"),
    7: N_("In a week"),
    14: N_("In 2 weeks"),
}


def score_band(score: str) -> str:
    """A lead's score band as staff read it (高/中/低)."""
    band = SCORE_BANDS.get(score)
    return _(band) if band else score


def reason_name(reason: str | None) -> str:
    """A decline reason in words."""
    name = DECLINE_REASONS.get(DeclineReason(reason)) if reason in set(DeclineReason) else None
    return _(name) if name else _("Other reason")


def short_date(value: str | date) -> str:
    """A date as the card shows it: month and day (12/9), the text back when not a date."""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(value)
    except ValueError:
        return str(value)
    return _("{month}/{day}").format(month=day.month, day=day.day)


def follow_up_choice(days: int, today: date) -> tuple[str, str]:
    """A follow-up button: its title (when, and the date) and the date it sends."""
    day = today + timedelta(days=days)
    return f"{_(_IN_DAYS[days])} {short_date(day)}", day.isoformat()


def recorded_line(recorded: RecordedOutcome, me: str | None) -> str:
    """The outcome recorded on a lead: what, why or until when, by whom (a role) and when."""
    what = _("Recorded: {outcome}").format(outcome=_(RECORDED[recorded.outcome]))
    if recorded.reason is not None:
        what += f"（{reason_name(recorded.reason)}）"
    if recorded.follow_up_on:
        what += " " + _("on {date}").format(date=short_date(recorded.follow_up_on))
    who = _("me") if recorded.by == me else role_title(recorded.role)
    return f"{what}  ·  {who} {_clock(recorded.at)}".rstrip()


def _clock(at: str) -> str:
    """A hub timestamp as the tablet's local time of day (14:05); empty when unreadable."""
    try:
        return datetime.fromisoformat(at).astimezone().strftime("%H:%M")
    except ValueError:
        return ""


def held_back_line(lead: HeldBackLead) -> str:
    """Why and when a held-back lead was declined, and where that was recorded."""
    where = _("HQ record") if lead.source == "hq" else role_title(lead.role)
    return _("Declined on {date}: {reason}  ·  {where}").format(
        date=short_date(lead.declined_on), reason=reason_name(lead.reason), where=where
    )
