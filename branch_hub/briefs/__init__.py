"""Customer briefs: role-redacted, computed in memory; visit notes and claims sealed at rest.

`build_brief` and `greeting` are pure functions of the decrypted HQ record, the branch config
and today's notes; `VisitNotes` keeps notes, claims, hand-offs and lead outcomes in SQLite WAL
with every customer-identifying or free-text field sealed by the hub's at-rest key.
See docs/briefs.md.
"""

from __future__ import annotations

from branch_hub.briefs._build import aum_band, build_brief, greeting, sort_leads
from branch_hub.briefs._errors import (
    AlreadyClaimed,
    BadDeclineReason,
    BadFollowUpDate,
    BriefError,
    InvalidEntry,
    LeadNotOffered,
    LeadNotSuitable,
    NotClaimHolder,
    NotesStoreError,
    RecordError,
    UnknownRole,
)
from branch_hub.briefs._events import customer_events, days_to_birthday
from branch_hub.briefs._leads import (
    DECLINES,
    Decline,
    check_outcome_detail,
    not_offered,
    recent_declines,
)
from branch_hub.briefs._model import OUTCOMES, Claim, Note
from branch_hub.briefs._names import family_name, salutation, surname_pinyin
from branch_hub.briefs._notes import MAX_TEXT, VisitNotes
from branch_hub.briefs._policy import COUNTER_BENEFITS, DEFAULT_HIDDEN, RedactionPolicy
from branch_hub.briefs._products import LeadVerdict, ProductFacts, judge_lead, judge_product

__all__ = [
    "COUNTER_BENEFITS",
    "DECLINES",
    "DEFAULT_HIDDEN",
    "MAX_TEXT",
    "OUTCOMES",
    "AlreadyClaimed",
    "BadDeclineReason",
    "BadFollowUpDate",
    "BriefError",
    "Claim",
    "Decline",
    "InvalidEntry",
    "LeadNotOffered",
    "LeadNotSuitable",
    "LeadVerdict",
    "NotClaimHolder",
    "Note",
    "NotesStoreError",
    "ProductFacts",
    "RecordError",
    "RedactionPolicy",
    "UnknownRole",
    "VisitNotes",
    "aum_band",
    "build_brief",
    "check_outcome_detail",
    "customer_events",
    "days_to_birthday",
    "family_name",
    "greeting",
    "judge_lead",
    "judge_product",
    "not_offered",
    "recent_declines",
    "salutation",
    "sort_leads",
    "surname_pinyin",
]
