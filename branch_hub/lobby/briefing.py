"""The lobby's seam to `branch_hub.briefs` (H5b): greetings, role briefs, notes and claims.

`Briefing` calls the briefs package when it is present. Until it is merged, a minimal
built-in stand-in answers: salutation, masked name, tier, leads (teller: no talking points,
no AUM band), and in-memory notes/claims (nothing is written to disk, so nothing lies in
plaintext at rest). The arrival event carries only `summary()`: counts and kinds, no names.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from branch_hub.atrest import AtRestCipher
from branch_hub.config import BranchConfig
from sync.identifiers import mask_name

__all__ = ["AlreadyClaimed", "Briefing", "NoteRecord"]

_SCORES = ("high", "mid", "low")
_WEALTH_ROLES = frozenset({"wealth_manager", "lobby_manager", "branch_admin"})


class AlreadyClaimed(Exception):
    """Another staff member has already claimed this visit."""

    def __init__(self, by: str) -> None:
        super().__init__(f"already claimed by {by}")
        self.by = by


@dataclass(frozen=True)
class NoteRecord:
    """A colleague's note about a visit."""

    by: str
    role: str
    at: str
    text: str
    for_role: str | None = None


def _salutation(customer: dict[str, Any]) -> tuple[str, str]:
    name = str(customer.get("name") or "")
    female = customer.get("gender") == "F"
    zh = (name[:1] + ("女士" if female else "先生")) if name else ("女士" if female else "先生")
    return zh, "Madam" if female else "Sir"


def _tier(config: BranchConfig, code: str | None) -> dict[str, Any] | None:
    for tier in config.tiers:
        if tier.code == code:
            return {"code": tier.code, "name_zh": tier.name_zh, "name_en": tier.name_en}
    return None


def _aum_band(aum: float) -> str:
    bands = ((1_000_000, "50万-100万", 500_000), (6_000_000, "100万-600万", 1_000_000))
    if aum < 500_000:
        return "50万以下"
    for upper, label, lower in bands:
        if lower <= aum < upper:
            return label
    return "600万以上"


class Briefing:
    """Greeting, brief and colleagues' notes for visits; delegates to branch_hub.briefs if present."""

    def __init__(self, config: BranchConfig, notes_db: Path, cipher: AtRestCipher) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._notes: dict[str, list[NoteRecord]] = {}
        self._claims: dict[str, str] = {}
        self._real: Any = None
        self._store: Any = None
        self._policy: Any = None
        try:
            self._real = importlib.import_module("branch_hub.briefs")
        except ImportError:
            self._real = None
        if self._real is not None:
            self._policy = self._real.RedactionPolicy.from_config(config)
            self._store = self._real.VisitNotes(notes_db, cipher)

    @property
    def delegated(self) -> bool:
        """True when the briefs package does the work."""
        return self._real is not None

    # -- customer-facing -------------------------------------------------------------------
    def greeting(self, customer: dict[str, Any] | None) -> dict[str, Any] | None:
        """The kiosk greeting for a recognised customer (tier words only, never amounts)."""
        if customer is None:
            return None
        if self._real is not None:
            return dict(self._real.greeting(customer, self.config))
        zh, en = _salutation(customer)
        tier = _tier(self.config, customer.get("tier"))
        priority = any(t.priority for t in self.config.tiers if t.code == customer.get("tier"))
        return {
            "salutation_zh": zh,
            "salutation_en": en,
            "priority": priority,
            "tier_zh": tier["name_zh"] if tier else None,
            "tier_en": tier["name_en"] if tier else None,
        }

    def summary(self, customer: dict[str, Any] | None) -> dict[str, Any]:
        """What the arrival event may say beyond the ticket: counts and kinds, no personal data."""
        if customer is None:
            return {"leads": 0, "top_score": None}
        leads = [lead for lead in customer.get("leads") or [] if isinstance(lead, dict)]
        scores = [str(lead.get("score")) for lead in leads]
        top = next((s for s in _SCORES if s in scores), None)
        return {"leads": len(leads), "top_score": top}

    # -- staff-facing ----------------------------------------------------------------------
    def brief(
        self,
        customer: dict[str, Any] | None,
        *,
        role: str,
        visit_id: str,
        today: date,
        customer_id: str | None,
    ) -> dict[str, Any]:
        """The brief for one role, computed in memory."""
        claimed = self.claimed_by(visit_id)
        if self._real is not None:
            notes = self._store.notes_for(customer_id or visit_id, today)
            return dict(
                self._real.build_brief(
                    customer,
                    role=role,
                    visit_id=visit_id,
                    today=today,
                    branch=self.config,
                    notes=notes,
                    claimed_by=claimed,
                    policy=self._policy,
                )
            )
        notes = [
            {"by": n.by, "role": n.role, "at": n.at, "text": n.text}
            for n in self._notes_of(customer_id or visit_id)
            if n.for_role in (None, role)
        ]
        if customer is None:
            return {
                "visit_id": visit_id,
                "walk_in": True,
                "salutation_zh": None,
                "salutation_en": None,
                "masked_name": None,
                "tier": None,
                "aum_band": None,
                "leads": [],
                "events": [],
                "notes": notes,
                "claimed_by": claimed,
                "redacted": [],
            }
        zh, en = _salutation(customer)
        redacted: list[str] = []
        wealth = role in _WEALTH_ROLES
        aum = customer.get("aum")
        if not wealth:
            redacted.append("aum_band")
        leads = sorted(
            (lead for lead in customer.get("leads") or [] if isinstance(lead, dict)),
            key=lambda x: _SCORES.index(x["score"]) if x.get("score") in _SCORES else 3,
        )
        if role == "teller":
            redacted.append("leads.talking_points")
        return {
            "visit_id": visit_id,
            "walk_in": False,
            "salutation_zh": zh,
            "salutation_en": en,
            "masked_name": mask_name(str(customer.get("name") or "")),
            "tier": _tier(self.config, customer.get("tier")),
            "aum_band": _aum_band(float(aum)) if wealth and isinstance(aum, int | float) else None,
            "leads": [
                {
                    "lead_id": lead.get("lead_id"),
                    "product": lead.get("product"),
                    "product_code": lead.get("product_code"),
                    "score": lead.get("score"),
                    "talking_points": []
                    if role == "teller"
                    else list(lead.get("talking_points") or []),
                }
                for lead in leads
            ],
            "events": [],
            "notes": notes,
            "claimed_by": claimed,
            "redacted": redacted,
        }

    def _notes_of(self, key: str) -> list[NoteRecord]:
        with self._lock:
            return list(self._notes.get(key, []))

    def add_note(
        self,
        *,
        visit_id: str,
        customer_id: str | None,
        by: str,
        role: str,
        text: str,
        for_role: str | None,
    ) -> dict[str, Any]:
        """Add a colleague's note to the visit (and the customer's day)."""
        at = datetime.now(UTC).isoformat(timespec="seconds")
        if self._real is not None:
            self._store.add_note(
                visit_id=visit_id,
                customer_id=customer_id,
                by=by,
                role=role,
                text=text,
                for_role=for_role,
            )
        else:
            with self._lock:
                self._notes.setdefault(customer_id or visit_id, []).append(
                    NoteRecord(by, role, at, text, for_role)
                )
        return {"by": by, "role": role, "at": at, "text": text, "for_role": for_role}

    def claim(self, visit_id: str, staff_id: str) -> None:
        """Claim the visit for a staff member (exclusive); raise AlreadyClaimed otherwise."""
        if self._real is not None:
            try:
                self._store.claim(visit_id, staff_id)
            except self._real.AlreadyClaimed as exc:
                raise AlreadyClaimed(str(getattr(exc, "by", "someone"))) from exc
            return
        with self._lock:
            holder = self._claims.get(visit_id)
            if holder is not None and holder != staff_id:
                raise AlreadyClaimed(holder)
            self._claims[visit_id] = staff_id

    def handoff(self, visit_id: str, by: str, to: str) -> None:
        """Pass the visit's claim to another staff member or role."""
        if self._real is not None:
            self._store.handoff(visit_id, by, to)
            return
        with self._lock:
            self._claims[visit_id] = to

    def claimed_by(self, visit_id: str) -> str | None:
        """Who has claimed the visit, or None."""
        if self._real is not None:
            claimed: str | None = self._store.claimed_by(visit_id)
            return claimed
        with self._lock:
            return self._claims.get(visit_id)

    def record_outcome(
        self, *, visit_id: str, lead_id: str, outcome: str, by: str, note: str | None
    ) -> None:
        """Record what happened with a lead."""
        if self._real is not None:
            self._store.record_outcome(
                visit_id=visit_id, lead_id=lead_id, outcome=outcome, by=by, note=note
            )
