"""A lead's catalogue products with their suitability, and the record of a product shown to staff.

`LeadProduct` sits in a brief's lead (`BriefLead.products`); `ProductViewRequest` is the body of
POST /catalogue/views and `ProductViewRecorded` its answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader, check_request_id, new_request_id
from branch_hub.vocabulary import ProductSuitability, ProductViewMode

__all__ = ["PRODUCT_CODE", "LeadProduct", "ProductViewRecorded", "ProductViewRequest"]

PRODUCT_CODE = re.compile(r"[A-Z]{2}[0-9A-Z]{2,18}")  # a catalogue product code (FD2026A0001)
VISIT_ID_MAX_CHARS = 64


@dataclass(frozen=True)
class LeadProduct:
    """One product a lead proposes: from the hub's catalogue, judged for this customer today."""

    code: str
    name_zh: str
    risk: str | None  # R1-R5; None when the catalogue does not hold the product
    on_sale: bool
    suitability: ProductSuitability

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "risk": self.risk,
            "on_sale": self.on_sale,
            "suitability": self.suitability,
        }

    @classmethod
    def from_wire(cls, body: object) -> LeadProduct:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "lead product")
        return cls(
            r.text("code"),
            str(r.data.get("name_zh") or ""),
            r.opt_text("risk"),
            r.flag("on_sale"),
            r.enum("suitability", ProductSuitability),
        )


@dataclass(frozen=True)
class ProductViewRequest:
    """POST /catalogue/views: a product staff read, presented or compared (for a visit or none)."""

    product_code: str
    mode: ProductViewMode
    visit_id: str | None = None
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        if not isinstance(self.product_code, str) or not PRODUCT_CODE.fullmatch(self.product_code):
            raise WireError("product_code must be a catalogue product code")
        if not isinstance(self.mode, ProductViewMode):
            raise WireError("mode must be a ProductViewMode")
        if self.visit_id is not None and (
            not isinstance(self.visit_id, str) or not 0 < len(self.visit_id) <= VISIT_ID_MAX_CHARS
        ):
            raise WireError(f"visit_id must be 1-{VISIT_ID_MAX_CHARS} characters or null")
        check_request_id(self.request_id)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {
            "request_id": self.request_id,
            "product_code": self.product_code,
            "mode": self.mode,
            "visit_id": self.visit_id,
        }

    @classmethod
    def from_wire(cls, body: object) -> ProductViewRequest:
        """Parse a JSON body; raise WireError on a wrong shape."""
        r = Reader(body, "product view")
        return cls(
            r.text("product_code"), r.enum("mode", ProductViewMode), r.opt_text("visit_id"),
            r.request_id(),
        )  # fmt: skip


@dataclass(frozen=True)
class ProductViewRecorded:
    """The view's id, and whether the product suits the visit's customer (None without one)."""

    view_id: str
    suitability: ProductSuitability | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"view_id": self.view_id, "suitability": self.suitability}

    @classmethod
    def from_wire(cls, body: object) -> ProductViewRecorded:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "product view answer")
        return cls(r.text("view_id"), r.opt_enum("suitability", ProductSuitability))
