"""Build a role-redacted customer brief and the kiosk greeting, in memory only."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from branch_common.identifiers import mask_name
from branch_hub.briefs._card import card_fields, empty_card
from branch_hub.briefs._errors import RecordError
from branch_hub.briefs._events import customer_events, parse_date
from branch_hub.briefs._leads import not_offered, recent_declines
from branch_hub.briefs._model import Note
from branch_hub.briefs._names import salutation
from branch_hub.briefs._policy import RedactionPolicy
from branch_hub.briefs._products import LeadVerdict, ProductFacts, judge_lead
from branch_hub.config import BRIEF_FIELDS, BranchConfig, Tier

__all__ = ["aum_band", "build_brief", "greeting", "sort_leads"]

_SCORE_RANK = {"high": 0, "mid": 1, "low": 2}
WALK_IN_ZH = "您好"
WALK_IN_EN = "Hello"


def _record(customer: object) -> Mapping[str, Any]:
    """Accept the plain record or sync.cache.Customer (whose `.record` is the plain record)."""
    record = getattr(customer, "record", customer)
    if not isinstance(record, Mapping):
        raise RecordError(f"a customer record is a JSON object, got {type(record).__name__}")
    for key in ("customer_id", "name"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise RecordError(f"the customer record has no {key}")
    return record


def _wan(cny: int) -> str:
    """Format CNY in 万 (10,000): 50000 -> '5万', 2500 -> '0.25万'."""
    return f"{cny / 10_000:g}万"


def aum_band(aum: object, edges: Iterable[int]) -> str | None:
    """Return the AUM band label ('50万-100万'), never the figure; None if aum is not a number."""
    if isinstance(aum, bool) or not isinstance(aum, int | float):
        return None
    if not math.isfinite(aum) or aum < 0:
        return None
    edges = list(edges)
    if aum < edges[0]:
        return f"{_wan(edges[0])}以下"
    for low, high in itertools.pairwise(edges):
        if low <= aum < high:
            return f"{_wan(low)}-{_wan(high)}"
    return f"{_wan(edges[-1])}以上"


def _band(record: Mapping[str, Any], policy: RedactionPolicy) -> str | None:
    """The branch's band of the AUM figure, else HQ's own label (an export without the figure)."""
    band = aum_band(record.get("aum"), policy.aum_band_edges_cny)
    if band is None and isinstance(record.get("aum_band"), str) and record["aum_band"]:
        return str(record["aum_band"])
    return band


def _tier(record: Mapping[str, Any], branch: BranchConfig) -> Tier:
    code = record.get("tier")
    for tier in branch.tiers:
        if tier.code == code:
            return tier
    aum = record.get("aum")
    # HQ's tier code is unknown here: derive it from AUM with the branch's own thresholds.
    if isinstance(aum, int | float) and not isinstance(aum, bool) and math.isfinite(aum):
        return branch.tier_for_aum(aum)
    return min(branch.tiers, key=lambda t: t.min_aum_cny)


def sort_leads(leads: object, today: date) -> list[Mapping[str, Any]]:
    """Drop malformed and expired leads; order the rest high, mid, low (stable within a score)."""
    if not isinstance(leads, list):
        return []
    kept: list[Mapping[str, Any]] = []
    for lead in leads:
        if not isinstance(lead, Mapping) or not isinstance(lead.get("lead_id"), str):
            continue
        if "expires" in lead and lead["expires"] is not None:
            expires = parse_date(lead["expires"])
            if expires is None or expires < today:  # unreadable expiry: treat as expired
                continue
        kept.append(lead)
    return sorted(kept, key=lambda lead: _SCORE_RANK.get(str(lead.get("score")), 3))


def _lead_out(
    lead: Mapping[str, Any], with_points: bool, recorded: Note | None, judged: LeadVerdict
) -> dict[str, Any]:
    points = lead.get("talking_points")
    out: dict[str, Any] = {
        "lead_id": lead["lead_id"],
        "product": str(lead.get("product", "")),
        "product_code": str(lead.get("product_code", "")),
        "score": str(lead.get("score", "")),
        "talking_points": (
            [str(p) for p in points] if with_points and isinstance(points, list) else []
        ),
        "products": list(judged.products),
        "not_suitable_reason": judged.not_suitable_reason,
    }
    if recorded is not None:
        out["outcome"] = recorded.outcome
        out["recorded"] = {
            "outcome": recorded.outcome,
            "by": recorded.by,
            "role": recorded.role,
            "at": recorded.at.isoformat(timespec="milliseconds"),
            "reason": recorded.reason,
            "follow_up_on": recorded.follow_up_on,
        }
    return out


def _leads(
    record: Mapping[str, Any],
    shown_notes: list[Note],
    history: Iterable[Note],
    with_points: bool,
    today: date,
    policy: RedactionPolicy,
    zone: ZoneInfo,
    catalogue: Mapping[str, ProductFacts] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The leads to offer (their products judged), and those held back as recently declined."""
    leads = sort_leads(record.get("leads"), today)
    declines = recent_declines(record, history, today, policy.do_not_repitch_days, zone)
    held_back = not_offered(leads, declines)
    recorded = {n.lead_id: n for n in shown_notes if n.kind == "outcome"}
    assessment = record.get("risk_assessment")
    offered = [
        _lead_out(
            lead,
            with_points,
            recorded.get(lead["lead_id"]),
            judge_lead(lead, catalogue, assessment, today),
        )
        for lead in leads
        if lead["lead_id"] not in held_back
    ]
    withheld = [
        {key: str(lead.get(key, "")) for key in ("lead_id", "product", "product_code", "score")}
        | held_back[lead["lead_id"]].to_brief()
        for lead in leads
        if lead["lead_id"] in held_back
    ]
    return offered, withheld


def _visible_notes(notes: Iterable[Note], role: str, today: date, zone: ZoneInfo) -> list[Note]:
    shown = []
    for note in notes:
        if note.for_role is not None and note.for_role != role:
            continue
        at = note.at if note.at.tzinfo else note.at.replace(tzinfo=zone)
        if at.astimezone(zone).date() != today:  # only today's business day
            continue
        shown.append(note)
    return sorted(shown, key=lambda n: n.at)


def build_brief(
    customer: object,
    *,
    role: str,
    visit_id: str,
    today: date,
    branch: BranchConfig,
    notes: Iterable[Note] = (),
    claimed_by: str | None = None,
    policy: RedactionPolicy | None = None,
    history: Iterable[Note] = (),
    catalogue: Mapping[str, ProductFacts] | None = None,
) -> dict[str, Any]:
    """Return a visit's brief for a role (walk-in: customer None; history: recent outcomes here;
    catalogue: the hub's applied products by code, None before the first)."""
    policy = policy or RedactionPolicy.from_config(branch)
    hidden = policy.hidden_for(role)  # raises UnknownRole before anything is computed
    zone = ZoneInfo(branch.branch.timezone)
    shown_notes = [] if "notes" in hidden else _visible_notes(notes, role, today, zone)
    brief: dict[str, Any] = {
        "visit_id": visit_id,
        "walk_in": customer is None,
        "salutation_zh": WALK_IN_ZH,
        "salutation_en": WALK_IN_EN,
        **dict.fromkeys(("masked_name", "tier", "aum_band")),
        **{key: [] for key in ("leads", "do_not_repitch", "events")},
        "notes": [n.to_brief() for n in shown_notes],
        "claimed_by": claimed_by,
        "redacted": [name for name in BRIEF_FIELDS if name in hidden],
        **empty_card(),
    }
    if customer is None:
        return brief
    record = _record(customer)
    brief["salutation_zh"], brief["salutation_en"] = salutation(
        record["name"], record.get("gender"), record.get("id_number")
    )
    tier = _tier(record, branch)
    brief["tier"] = {"code": tier.code, "name_zh": tier.name_zh, "name_en": tier.name_en}
    if "masked_name" not in hidden:
        brief["masked_name"] = mask_name(record["name"])
    if "aum_band" not in hidden:
        brief["aum_band"] = _band(record, policy)
    brief.update(card_fields(record, hidden, today))
    if "leads" not in hidden:
        points = "talking_points" not in hidden
        leads = _leads(record, shown_notes, history, points, today, policy, zone, catalogue)
        brief["leads"], brief["do_not_repitch"] = leads
    if "events" not in hidden:
        brief["events"] = customer_events(
            record,
            today,
            branch.branch.region_code,
            birthday_window_days=policy.birthday_window_days,
            long_absence_days=policy.long_absence_days,
        )
    return brief


def greeting(customer: object, branch: BranchConfig) -> dict[str, Any]:
    """Return the kiosk greeting: salutation, priority flag and tier names, nothing else."""
    if customer is None:
        return {
            "salutation_zh": WALK_IN_ZH,
            "salutation_en": WALK_IN_EN,
            "priority": False,
            "tier_zh": None,
            "tier_en": None,
        }
    record = _record(customer)
    zh, en = salutation(record["name"], record.get("gender"), record.get("id_number"))
    tier = _tier(record, branch)
    return {
        "salutation_zh": zh,
        "salutation_en": en,
        "priority": tier.priority,
        "tier_zh": tier.name_zh,
        "tier_en": tier.name_en,
    }
