"""A lead outcome's details (decline reason, follow-up date) and the "do not re-pitch" rule.

A lead the customer declined within the window (`[briefs] do_not_repitch_days`) is not offered
again: HQ's history of recent declines (the export's `lead_declines`, matched by lead id or by
product code) and this branch's own recorded declines (by lead id) both count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.briefs._errors import BadDeclineReason, BadFollowUpDate
from branch_hub.briefs._model import Note
from branch_hub.vocabulary import DeclineReason, LeadOutcome

__all__ = ["DECLINES", "Decline", "check_outcome_detail", "not_offered", "recent_declines"]

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Outcomes that mean "the customer said no" (`not_interested` is how older records said it).
DECLINES = frozenset({LeadOutcome.DECLINED, LeadOutcome.NOT_INTERESTED})


def _is_reason(value: object) -> bool:
    return isinstance(value, str) and value in DeclineReason.__members__.values()


def _follow_up_day(value: object, today: date, max_days: int) -> str:
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise BadFollowUpDate("a follow-up needs its date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadFollowUpDate("the follow-up date is not a calendar date") from None
    if not today < day <= today + timedelta(days=max_days):
        raise BadFollowUpDate(f"the follow-up date must be after today and within {max_days} days")
    return day.isoformat()


def check_outcome_detail(
    outcome: str, reason: object, follow_up_on: object, today: date, max_days: int
) -> tuple[str | None, str | None]:
    """Return (reason, follow-up date) for an outcome: declined needs a reason, follow_up a date."""
    if outcome == LeadOutcome.DECLINED:
        if not _is_reason(reason):
            known = ", ".join(DeclineReason)
            raise BadDeclineReason(f"a declined lead needs a reason, one of {known}")
    elif reason is not None:
        raise BadDeclineReason("only a declined lead takes a reason")
    if outcome == LeadOutcome.FOLLOW_UP:
        return None, _follow_up_day(follow_up_on, today, max_days)
    if follow_up_on is not None:
        raise BadFollowUpDate("only a follow-up takes a date")
    return (str(reason) if reason is not None else None), None


@dataclass(frozen=True)
class Decline:
    """One recent decline: of which lead or product, when, why, and where it was recorded."""

    declined_on: date
    reason: str
    source: str  # "hq" (HQ's history) | "branch" (recorded here)
    lead_id: str | None = None
    product_code: str | None = None
    role: str | None = None  # who recorded it here (a role, never a name)

    def to_brief(self) -> dict[str, Any]:
        """The decline as a brief's `do_not_repitch` entry shows it (beside the lead's fields)."""
        return {
            "declined_on": self.declined_on.isoformat(),
            "reason": self.reason,
            "source": self.source,
            "role": self.role,
        }


def _hq_declines(record: Mapping[str, Any], since: date, today: date) -> list[Decline]:
    history = record.get("lead_declines")
    found = []
    for item in history if isinstance(history, list) else []:
        if not isinstance(item, Mapping):
            continue
        day = _day(item.get("declined_on"))
        lead_id, code = item.get("lead_id"), item.get("product_code")
        if day is None or not since <= day <= today or not (lead_id or code):
            continue
        reason = item.get("reason")
        found.append(
            Decline(
                day,
                str(reason) if _is_reason(reason) else DeclineReason.OTHER,
                "hq",
                lead_id=str(lead_id) if isinstance(lead_id, str) else None,
                product_code=str(code) if isinstance(code, str) else None,
            )
        )
    return found


def _day(value: object) -> date | None:
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def recent_declines(
    record: Mapping[str, Any],
    history: Iterable[Note],
    today: date,
    window_days: int,
    zone: ZoneInfo,
) -> list[Decline]:
    """HQ's and this branch's declines of the last `window_days` days (0: the rule is off)."""
    if window_days <= 0:
        return []
    since = today - timedelta(days=window_days)
    found = _hq_declines(record, since, today)
    for note in history:
        if note.kind != "outcome" or note.outcome not in DECLINES or note.lead_id is None:
            continue
        at = note.at if note.at.tzinfo else note.at.replace(tzinfo=zone)
        day = at.astimezone(zone).date()
        if since <= day <= today:
            reason = note.reason or DeclineReason.OTHER
            found.append(Decline(day, reason, "branch", lead_id=note.lead_id, role=note.role))
    return found


def not_offered(
    leads: Iterable[Mapping[str, Any]], declines: Iterable[Decline]
) -> dict[str, Decline]:
    """Per lead id, the latest recent decline of that lead (by id) or of its product (by code)."""
    declines = list(declines)
    out: dict[str, Decline] = {}
    for lead in leads:
        lead_id, code = lead.get("lead_id"), lead.get("product_code")
        hits = [
            d
            for d in declines
            if (d.lead_id is not None and d.lead_id == lead_id)
            or (d.lead_id is None and d.product_code is not None and d.product_code == code)
        ]
        if hits and isinstance(lead_id, str):
            out[lead_id] = max(hits, key=lambda d: (d.declined_on, d.source == "branch"))
    return out
