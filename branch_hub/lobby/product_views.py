"""Catalogue products staff read, presented to a customer or compared: recorded, sent to HQ, audited.

One view is one transaction (`Actions.run`): its row in the hub's database, its record for HQ
(kind `product_view`: staff, product, mode, visit and the customer key HQ already has) and its
audit entry commit together; a retry with the same request id gets the first answer. The answer
says whether the product suits the visit's customer today (no level, no name). `day_counts` lists
a business day's views by staff member, product and mode for the day report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from branch_hub.briefs import ProductFacts, judge_product
from branch_hub.catalogue_sync import CatalogueNotReady
from branch_hub.context import RequestContext
from branch_hub.database import HubDatabase
from branch_hub.ids import new_token_id
from branch_hub.lobby.actions import ActionScope
from branch_hub.lobby.errors import LobbyError
from branch_hub.lobby.results import Answer
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.lobby.visits import Visit
from branch_hub.vocabulary import ProductSuitability, ProductViewMode

__all__ = ["ProductViewDesk", "ProductViewRecorded", "UnknownProduct", "ViewCount"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS product_views (
    view_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    at TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    product_code TEXT NOT NULL,
    mode TEXT NOT NULL,
    visit_id TEXT
);
CREATE INDEX IF NOT EXISTS product_views_day ON product_views (day, staff_id, product_code);
"""


class UnknownProduct(LobbyError):
    """The hub's applied catalogue holds no product of this code."""


@dataclass(frozen=True)
class ProductViewRecorded:
    """POST /catalogue/views' answer: the view's id and the product's suitability for the visit."""

    view_id: str
    suitability: ProductSuitability | None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"view_id": self.view_id, "suitability": self.suitability}


@dataclass(frozen=True)
class ViewCount:
    """How often one staff member showed one product in one mode on a business day."""

    staff_id: str
    product_code: str
    mode: ProductViewMode
    views: int


class ProductViewDesk:
    """Records staff's views of catalogue products and counts them per day."""

    def __init__(
        self,
        desk: StaffDesk,
        db: HubDatabase,
        catalogue: Callable[[], Mapping[str, ProductFacts] | None],
    ) -> None:
        self.desk = desk
        self.db = db
        self.catalogue = catalogue
        db.create(_SCHEMA)

    def _product(self, code: str) -> ProductFacts:
        facts = self.catalogue()
        if facts is None:
            raise CatalogueNotReady
        product = facts.get(code)
        if product is None:
            raise UnknownProduct(f"no product {code} in the catalogue")
        return product

    async def _judge(
        self, product: ProductFacts, visit: Visit | None, today: date
    ) -> ProductSuitability | None:
        if visit is None:
            return None
        record = await self.desk.lobby.record_of(visit)
        if record is None:  # a walk-in: no customer to judge for
            return None
        return judge_product(product.risk, record.get("risk_assessment"), today)

    async def record(
        self,
        caller: RequestContext,
        product_code: str,
        mode: ProductViewMode,
        visit_id: str | None,
        request_id: str | None = None,
    ) -> Answer:
        """Record one view of a product (for a visit's customer, or none) in one transaction."""
        product = self._product(product_code)
        visit = await self.desk._visit(visit_id) if visit_id is not None else None
        today = self.desk.today()
        verdict = await self._judge(product, visit, today)
        staff = str(caller.staff_id)

        def work(scope: ActionScope) -> ProductViewRecorded:
            view_id = new_token_id(32)
            at = scope.now.isoformat(timespec="seconds")
            with self.db.transaction() as db:
                db.execute(
                    "INSERT INTO product_views (view_id, day, at, staff_id, product_code, mode,"
                    " visit_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (view_id, today.isoformat(), at, staff, product.code, str(mode), visit_id),
                )
            payload: dict[str, str | None] = {
                "staff_id": staff,
                "product_code": product.code,
                "mode": str(mode),
            }
            payload |= {"visit_id": visit_id, "at": at}
            if visit is not None and visit.customer_id is not None:
                payload["customer_id"] = visit.customer_id
            scope.actions.outbox.enqueue("product_view", payload, f"product_view:{view_id}")
            detail = {"product_code": product.code, "mode": str(mode), "view_id": view_id}
            scope.audit("product_view", visit, detail=detail)
            return ProductViewRecorded(view_id, verdict)

        return await self.desk.actions.run(caller, request_id, "product_view", work)

    def day_counts(self, day: date) -> list[ViewCount]:
        """A business day's views by staff member, product and mode (blocking: a worker's)."""
        with self.db.reading() as db:
            rows = db.execute(
                "SELECT staff_id, product_code, mode, COUNT(*) FROM product_views WHERE day = ?"
                " GROUP BY staff_id, product_code, mode ORDER BY staff_id, product_code, mode",
                (day.isoformat(),),
            ).fetchall()
        return [ViewCount(s, c, ProductViewMode(m), int(n)) for s, c, m, n in rows]

    async def views_of_day(self, day: date) -> list[ViewCount]:
        """`day_counts` off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, self.day_counts, day)
