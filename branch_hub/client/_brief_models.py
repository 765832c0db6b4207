"""A visit's brief as the hub builds it for the caller's role, and the notes it lists.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else. A brief's events stay plain dicts (their keys vary by event).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._lead_models import HeldBackLead, RecordedOutcome
from branch_hub.client._product_models import LeadProduct
from branch_hub.client._wire import Reader, optional
from branch_hub.vocabulary import DeclineReason, LeadOutcome, ProductSuitability, Role

__all__ = [
    "Brief",
    "BriefAttrition",
    "BriefLead",
    "BriefNote",
    "BriefProducts",
    "BriefRisk",
    "BriefTier",
    "NoteResult",
]


@dataclass(frozen=True)
class BriefTier:
    """The customer's tier in a brief."""

    code: str
    name_zh: str
    name_en: str

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"code": self.code, "name_zh": self.name_zh, "name_en": self.name_en}

    @classmethod
    def from_wire(cls, body: object) -> BriefTier:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "tier")
        return cls(r.text("code"), r.text("name_zh"), r.text("name_en"))


@dataclass(frozen=True)
class BriefLead:
    """One lead in a brief, with its outcome once recorded."""

    lead_id: str
    product: str
    product_code: str
    score: str
    talking_points: tuple[str, ...]
    outcome: LeadOutcome | None = None
    recorded: RecordedOutcome | None = None  # who recorded the outcome, when, why
    products: tuple[LeadProduct, ...] = ()  # the catalogue products it proposes, judged
    not_suitable_reason: ProductSuitability | None = None  # set: do not pitch (409 on accept)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object (outcome and its record only once recorded)."""
        out: dict[str, Any] = {
            "lead_id": self.lead_id,
            "product": self.product,
            "product_code": self.product_code,
            "score": self.score,
            "talking_points": list(self.talking_points),
            "products": [p.to_wire() for p in self.products],
            "not_suitable_reason": self.not_suitable_reason,
        }
        optional(out, "outcome", self.outcome)
        return optional(out, "recorded", self.recorded.to_wire() if self.recorded else None)

    @classmethod
    def from_wire(cls, body: object) -> BriefLead:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "lead")
        recorded = r.data.get("recorded")
        return cls(
            r.text("lead_id"),
            r.text("product"),
            r.text("product_code"),
            r.text("score"),
            r.texts("talking_points"),
            r.opt_enum("outcome", LeadOutcome),
            None if recorded is None else RecordedOutcome.from_wire(recorded),
            r.items("products", LeadProduct.from_wire)
            if r.data.get("products") is not None
            else (),
            r.opt_enum("not_suitable_reason", ProductSuitability),
        )


@dataclass(frozen=True)
class BriefNote:
    """A colleague's note, a hand-off or a lead outcome, as a brief lists it."""

    by: str
    role: Role
    at: str
    text: str
    kind: str  # note | handoff | outcome
    for_role: Role | None = None
    to_staff_id: str | None = None  # hand-offs
    to_role: Role | None = None  # hand-offs
    lead_id: str | None = None  # outcomes
    outcome: LeadOutcome | None = None  # outcomes
    reason: DeclineReason | None = None  # declined outcomes
    follow_up_on: str | None = None  # follow-up outcomes

    def to_wire(self) -> dict[str, Any]:
        """The JSON object: hand-off and outcome keys only on those kinds."""
        out: dict[str, Any] = {
            "by": self.by,
            "role": self.role,
            "at": self.at,
            "text": self.text,
            "kind": self.kind,
        }
        optional(out, "for_role", self.for_role)
        if self.kind == "handoff":
            out["to_staff_id"], out["to_role"] = self.to_staff_id, self.to_role
        if self.kind == "outcome":
            out["lead_id"], out["outcome"] = self.lead_id, self.outcome
            out["reason"], out["follow_up_on"] = self.reason, self.follow_up_on
        return out

    @classmethod
    def from_wire(cls, body: object) -> BriefNote:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "note")
        kind = r.text("kind")
        handoff, outcome = kind == "handoff", kind == "outcome"
        return cls(
            r.text("by"),
            r.enum("role", Role),
            r.text("at"),
            r.text("text"),
            kind,
            r.opt_enum("for_role", Role),
            r.opt_text("to_staff_id") if handoff else None,
            r.opt_enum("to_role", Role) if handoff else None,
            r.opt_text("lead_id") if outcome else None,
            r.opt_enum("outcome", LeadOutcome) if outcome else None,
            r.opt_enum("reason", DeclineReason) if outcome else None,
            r.opt_text("follow_up_on") if outcome else None,
        )


def _texts_or_empty(r: Reader, key: str) -> tuple[str, ...]:
    """A list of strings; () when an older hub leaves the key out."""
    return r.texts(key) if r.data.get(key) is not None else ()


@dataclass(frozen=True)
class BriefRisk:
    """The customer's risk assessment for wealth products: level C1-C5 and its expiry."""

    level: str
    expires: str  # YYYY-MM-DD
    expired: bool

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"level": self.level, "expires": self.expires, "expired": self.expired}

    @classmethod
    def from_wire(cls, body: object) -> BriefRisk:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "risk_assessment")
        return cls(r.text("level"), r.text("expires"), r.flag("expired"))


@dataclass(frozen=True)
class BriefProducts:
    """The products the customer holds, by category (codes or names, never amounts)."""

    deposits: tuple[str, ...] = ()
    wealth_management: tuple[str, ...] = ()
    funds: tuple[str, ...] = ()
    insurance: tuple[str, ...] = ()
    loans: tuple[str, ...] = ()
    cards: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        """The JSON object: every category, each a list."""
        return {
            "deposits": list(self.deposits),
            "wealth_management": list(self.wealth_management),
            "funds": list(self.funds),
            "insurance": list(self.insurance),
            "loans": list(self.loans),
            "cards": list(self.cards),
        }

    @classmethod
    def from_wire(cls, body: object) -> BriefProducts:
        """Parse; a category the hub leaves out is empty; raise WireError on a wrong shape."""
        r = Reader(body, "products")
        return cls(
            _texts_or_empty(r, "deposits"),
            _texts_or_empty(r, "wealth_management"),
            _texts_or_empty(r, "funds"),
            _texts_or_empty(r, "insurance"),
            _texts_or_empty(r, "loans"),
            _texts_or_empty(r, "cards"),
        )


@dataclass(frozen=True)
class BriefAttrition:
    """HQ's attrition warning: whether the customer may leave, and why (a code) when shown."""

    flag: bool
    reason: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"flag": self.flag, "reason": self.reason}

    @classmethod
    def from_wire(cls, body: object) -> BriefAttrition:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "attrition")
        return cls(r.flag("flag"), r.opt_text("reason"))


@dataclass(frozen=True)
class Brief:
    """GET /visits/{id}/brief: what the caller's role may see about the customer."""

    visit_id: str
    walk_in: bool
    salutation_zh: str
    salutation_en: str
    masked_name: str | None
    tier: BriefTier | None
    aum_band: str | None
    leads: tuple[BriefLead, ...]
    events: tuple[dict[str, Any], ...]
    notes: tuple[BriefNote, ...]
    claimed_by: str | None
    redacted: tuple[str, ...]
    segments: tuple[str, ...] = ()
    relationship_manager: str | None = None
    risk_assessment: BriefRisk | None = None
    products: BriefProducts | None = None
    benefits: tuple[str, ...] = ()
    attrition: BriefAttrition | None = None
    do_not_repitch: tuple[HeldBackLead, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "visit_id": self.visit_id,
            "walk_in": self.walk_in,
            "salutation_zh": self.salutation_zh,
            "salutation_en": self.salutation_en,
            "masked_name": self.masked_name,
            "tier": self.tier.to_wire() if self.tier else None,
            "aum_band": self.aum_band,
            "leads": [lead.to_wire() for lead in self.leads],
            "events": [dict(e) for e in self.events],
            "notes": [n.to_wire() for n in self.notes],
            "claimed_by": self.claimed_by,
            "redacted": list(self.redacted),
            "segments": list(self.segments),
            "relationship_manager": self.relationship_manager,
            "risk_assessment": self.risk_assessment.to_wire() if self.risk_assessment else None,
            "products": self.products.to_wire() if self.products else None,
            "benefits": list(self.benefits),
            "attrition": self.attrition.to_wire() if self.attrition else None,
            "do_not_repitch": [lead.to_wire() for lead in self.do_not_repitch],
        }

    @classmethod
    def from_wire(cls, body: object) -> Brief:
        """Parse (card fields an older hub leaves out are empty); raise WireError on a wrong shape."""
        r = Reader(body, "brief")
        tier = r.data.get("tier")
        risk, products, attrition = (
            r.data.get(k) for k in ("risk_assessment", "products", "attrition")
        )
        return cls(
            r.text("visit_id"),
            r.flag("walk_in"),
            r.text("salutation_zh"),
            r.text("salutation_en"),
            r.opt_text("masked_name"),
            None if tier is None else BriefTier.from_wire(tier),
            r.opt_text("aum_band"),
            r.items("leads", BriefLead.from_wire),
            r.mappings("events"),
            r.items("notes", BriefNote.from_wire),
            r.opt_text("claimed_by"),
            r.texts("redacted"),
            _texts_or_empty(r, "segments"),
            r.opt_text("relationship_manager"),
            None if risk is None else BriefRisk.from_wire(risk),
            None if products is None else BriefProducts.from_wire(products),
            _texts_or_empty(r, "benefits"),
            None if attrition is None else BriefAttrition.from_wire(attrition),
            r.items("do_not_repitch", HeldBackLead.from_wire) if r.has("do_not_repitch") else (),
        )


@dataclass(frozen=True)
class NoteResult:
    """POST /visits/{id}/notes' answer: the note as briefs will list it."""

    visit_id: str
    note: BriefNote

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"visit_id": self.visit_id, "note": self.note.to_wire()}

    @classmethod
    def from_wire(cls, body: object) -> NoteResult:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "note answer")
        return cls(r.text("visit_id"), BriefNote.from_wire(r.data.get("note")))
