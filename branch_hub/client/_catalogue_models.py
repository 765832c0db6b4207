"""The product catalogue the hub serves: which version it holds, and products found in it.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader

__all__ = [
    "CATALOGUE_FILE_MAX_BYTES",
    "CatalogueInfo",
    "CatalogueProduct",
    "CatalogueProducts",
    "catalogue_key_of",
]

CATALOGUE_FILE_MAX_BYTES = 64 << 20  # far above any chunk HQ publishes
_KEY_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CatalogueInfo:
    """The catalogue the hub applied: HQ's sequence, when HQ made it, and its counts."""

    sequence: int
    created: str
    products: int
    articles: int
    files: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "sequence": self.sequence,
            "created": self.created,
            "products": self.products,
            "articles": self.articles,
            "files": self.files,
        }

    @classmethod
    def from_wire(cls, body: object) -> CatalogueInfo:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "catalogue")
        return cls(
            r.whole("sequence"),
            r.text("created"),
            r.whole("products"),
            r.whole("articles"),
            r.whole("files"),
        )


@dataclass(frozen=True)
class CatalogueProduct:
    """One product found: what a result row shows."""

    code: str
    name_zh: str
    name_en: str
    category: str
    risk: str
    term_days: int | None
    yield_pct: str | None
    min_amount_yuan: int
    valid_to: str
    name_hit: bool

    def to_wire(self) -> dict[str, Any]:
        """The JSON object: every key, null where it does not apply."""
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "category": self.category,
            "risk": self.risk,
            "term_days": self.term_days,
            "yield_pct": self.yield_pct,
            "min_amount_yuan": self.min_amount_yuan,
            "valid_to": self.valid_to,
            "name_hit": self.name_hit,
        }

    @classmethod
    def from_wire(cls, body: object) -> CatalogueProduct:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "catalogue product")
        return cls(
            r.text("code"),
            r.text("name_zh"),
            r.text("name_en"),
            r.text("category"),
            r.text("risk"),
            r.opt_whole("term_days"),
            r.opt_text("yield_pct"),
            r.whole("min_amount_yuan"),
            r.text("valid_to"),
            r.flag("name_hit"),
        )


@dataclass(frozen=True)
class CatalogueProducts:
    """Products on sale today that match a search, best first, from one catalogue version."""

    sequence: int
    products: tuple[CatalogueProduct, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"sequence": self.sequence, "products": [p.to_wire() for p in self.products]}

    @classmethod
    def from_wire(cls, body: object) -> CatalogueProducts:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "catalogue products")
        return cls(r.whole("sequence"), r.items("products", CatalogueProduct.from_wire))


def catalogue_key_of(body: object) -> str:
    """HQ's key from GET /catalogue/key ({"ed25519": 64 hex digits}); WireError otherwise."""
    key = Reader(body, "catalogue key").text("ed25519")
    if not _KEY_HEX.fullmatch(key):
        raise WireError("catalogue key: ed25519 must be 64 lowercase hex digits")
    return key
