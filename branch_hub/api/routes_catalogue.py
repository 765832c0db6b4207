"""HQ's product catalogue for the branch's tablets and counters: its version and a product search.

The catalogue is what the bank shows any customer (no personal data), so an enrolled tablet or
counter certificate is enough: staff look products up before logging in, and the search answers
the same for every role. A kiosk or the lobby display may not call these routes.
"""

from __future__ import annotations

from aiohttp import web

from branch_common.suitability import PRODUCT_RISKS
from branch_hub.api.app import HUB
from branch_hub.api.errors import ApiError
from branch_hub.api.guards import require
from branch_hub.api.routes import Param, Reply, Route
from branch_hub.catalogue_sync import CATEGORIES, MAX_PRODUCTS
from branch_hub.client.models import CatalogueInfo, CatalogueProduct, CatalogueProducts
from branch_hub.vocabulary import STAFF_DEVICE_KINDS

__all__ = ["ROUTES"]

QUERY_MAX_CHARS = 100


async def catalogue(request: web.Request) -> web.Response:
    """The applied catalogue's sequence and counts (404 before the first one)."""
    require(request, kinds=STAFF_DEVICE_KINDS)
    status = request.app[HUB].catalogue.status()
    info = CatalogueInfo(
        status.sequence, status.created, status.products, status.articles, status.files
    )
    return web.json_response(info.to_wire())


def _bad() -> ApiError:
    return ApiError(
        400,
        "bad_catalogue_query",
        f"q is at most {QUERY_MAX_CHARS} characters, category one of {', '.join(CATEGORIES)}, "
        f"max_risk one of {', '.join(PRODUCT_RISKS)}, limit 1 to {MAX_PRODUCTS}.",
    )


def _limit(raw: str) -> int:
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_PRODUCTS:
        raise _bad()
    return int(raw)


async def products(request: web.Request) -> web.Response:
    """Products on sale today matching every word of `q`, best first."""
    require(request, kinds=STAFF_DEVICE_KINDS)
    query = request.query
    words = query.get("q", "")
    category = query.get("category")
    max_risk = query.get("max_risk")
    if (
        len(words) > QUERY_MAX_CHARS
        or (category is not None and category not in CATEGORIES)
        or (max_risk is not None and max_risk not in PRODUCT_RISKS)
    ):
        raise _bad()
    limit = _limit(query.get("limit", "20"))
    status, hits = await request.app[HUB].catalogue.products(
        words, (category,) if category else (), max_risk, limit
    )
    rows = tuple(
        CatalogueProduct(
            h.code, h.name_zh, h.name_en, h.category, h.risk, h.term_days, h.yield_pct,
            h.min_amount_yuan, h.valid_to, h.name_hit,
        )
        for h in hits
    )  # fmt: skip
    return web.json_response(CatalogueProducts(status.sequence, rows).to_wire())


_PARAMS = (
    Param("q", {"type": "string", "maxLength": QUERY_MAX_CHARS}, where="query", example="稳健"),
    Param("category", {"type": "string", "enum": list(CATEGORIES)}, where="query"),
    Param("max_risk", {"type": "string", "enum": list(PRODUCT_RISKS)}, where="query"),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PRODUCTS}, where="query"),
)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/v1/catalogue",
        catalogue,
        "catalogue",
        "The product catalogue this hub serves: HQ's sequence, when HQ made it, and its counts "
        "(an enrolled tablet or counter; no staff session needed: the catalogue is public).",
        STAFF_DEVICE_KINDS,
        {200: Reply("The applied catalogue's version and counts.", CatalogueInfo)},
        refusals=frozenset({404}),
    ),
    Route(
        "GET",
        "/api/v1/catalogue/products",
        products,
        "catalogueProducts",
        "Search the catalogue in Chinese: products on sale today with every word of `q` (name "
        "hits first), filtered by category and highest risk; all products for an empty `q`.",
        STAFF_DEVICE_KINDS,
        {
            200: Reply(
                "The products found, best first, and the catalogue's sequence.", CatalogueProducts
            )
        },
        params=_PARAMS,
        refusals=frozenset({400, 404}),
    ),
)
