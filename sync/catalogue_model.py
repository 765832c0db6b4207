"""The product catalogue and knowledge base HQ publishes to every branch: model and validation.

Products and articles travel as JSON objects with the field names below (docs/sync.md,
"Product catalogue"); `product_from_dict` / `article_from_dict` check every field, with bounded
sizes, and raise `CatalogueError` naming the item and the field, never dumping the value.
Images and PDF leaflets are checked by `sync.catalogue_assets`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from branch_common.signed_catalogue import ASSET_NAME
from sync.errors import CatalogueError

__all__ = [
    "ARTICLE_KINDS",
    "ASSET_NAME",
    "CATEGORIES",
    "RISKS",
    "SEGMENTS",
    "TIERS",
    "YIELD_KINDS",
    "Article",
    "Catalogue",
    "Product",
    "article_from_dict",
    "check_catalogue",
    "product_from_dict",
]

CATEGORIES = ("deposit", "wealth", "fund", "insurance", "loan", "card", "forex", "pension")
RISKS = ("R1", "R2", "R3", "R4", "R5")
YIELD_KINDS = ("expected_annual", "rate", "nav", "none")
TIERS = ("mass", "basic", "wealth", "private")
# The customer segments of HQ's export (sync.synth_tables.SEGMENTS and the derived ones).
SEGMENTS = (
    "payroll",
    "pension",
    "business_owner",
    "mortgage_holder",
    "credit_card_active",
    "digital_active",
    "dormant",
    "family_with_children",
    "cross_border",
    "senior",
    "high_net_worth",
    "young_professional",
)
ARTICLE_KINDS = ("faq", "procedure", "fee_rule")

_CODE = re.compile(r"[A-Z]{2}[0-9A-Z]{2,18}")
_ARTICLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_TAG = re.compile(r"[^\x00-\x1f\x7f]{1,32}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_YIELD = re.compile(r"-?\d{1,3}(\.\d{1,4})?")

# Bounds: what a tablet screen can show and a branch device should ever hold.
NAME_MAX = 80
LINE_MAX = 200
POINTS_MAX = 8
DISCLAIMER_MAX = 2_000
BODY_MAX = 20_000
LIST_MAX = 50


@dataclass(frozen=True)
class Product:
    """One product HQ sells through the branch."""

    code: str
    name_zh: str
    name_en: str
    category: str
    risk: str
    term_days: int | None
    yield_kind: str
    yield_pct: str | None
    yield_basis_zh: str
    min_amount_yuan: int
    tiers: tuple[str, ...]
    segments: tuple[str, ...]
    selling_points_zh: tuple[str, ...]
    disclaimer_zh: str
    valid_from: str
    valid_to: str
    image: str | None
    leaflet: str | None

    def to_dict(self) -> dict[str, Any]:
        """The product as the JSON object of the bundle."""
        out = asdict(self)
        for name in ("tiers", "segments", "selling_points_zh"):
            out[name] = list(out[name])
        return out

    def on_sale(self, day: date) -> bool:
        """True if the product may be offered on `day`."""
        return self.valid_from <= day.isoformat() <= self.valid_to


@dataclass(frozen=True)
class Article:
    """One knowledge-base article: an FAQ, a procedure or a fee rule."""

    article_id: str
    kind: str
    title_zh: str
    body_zh: str
    tags: tuple[str, ...]
    product_codes: tuple[str, ...]
    updated: str

    def to_dict(self) -> dict[str, Any]:
        """The article as the JSON object of the bundle."""
        out = asdict(self)
        out["tags"], out["product_codes"] = list(self.tags), list(self.product_codes)
        return out


@dataclass(frozen=True)
class Catalogue:
    """Products, articles and the files they name (images, PDF leaflets) by file name."""

    products: tuple[Product, ...]
    articles: tuple[Article, ...]
    assets: Mapping[str, bytes] = field(default_factory=dict)

    def product(self, code: str) -> Product | None:
        """The product with this code, or None."""
        return next((p for p in self.products if p.code == code), None)


class _Fields:
    """Typed reads of one JSON object, each failure naming the item and the field."""

    def __init__(self, what: str, raw: Any, allowed: tuple[str, ...]) -> None:
        if not isinstance(raw, dict):
            raise CatalogueError(f"{what} is not a JSON object")
        self.what, self.raw = what, raw
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise CatalogueError(f"{what}: unknown field {unknown[0][:40]!r}")

    def fail(self, name: str, why: str) -> CatalogueError:
        return CatalogueError(f"{self.what}: {name} {why}")

    def get(self, name: str) -> Any:
        if name not in self.raw:
            raise self.fail(name, "is missing")
        return self.raw[name]

    def text(self, name: str, limit: int, *, empty: bool = False, lines: bool = False) -> str:
        value = self.get(name)
        if not isinstance(value, str):
            raise self.fail(name, "must be a string")
        _check_text(self, name, value, limit, empty=empty, lines=lines)
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.get(name)
        if value not in choices:
            raise self.fail(name, f"must be one of {', '.join(choices)}")
        return str(value)

    def whole(self, name: str, low: int, high: int, *, null: bool = False) -> int | None:
        value = self.get(name)
        if value is None and null:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(name, f"must be a whole number from {low} to {high}")
        return value

    def texts(
        self, name: str, limit: int, most: int, choices: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        value = self.get(name)
        if not isinstance(value, list) or len(value) > most:
            raise self.fail(name, f"must be a list of at most {most} strings")
        for item in value:
            if not isinstance(item, str):
                raise self.fail(name, "must be a list of strings")
            if choices and item not in choices:
                raise self.fail(name, f"entries must be among {', '.join(choices)}")
            _check_text(self, name, item, limit)
        if len(set(value)) != len(value):
            raise self.fail(name, "repeats an entry")
        return tuple(value)

    def day(self, name: str) -> str:
        value = self.get(name)
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise self.fail(name, "must be an ISO date YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise self.fail(name, "must be an ISO date YYYY-MM-DD") from None
        return value

    def pattern(self, name: str, rx: re.Pattern[str], shape: str, *, null: bool = False) -> Any:
        value = self.get(name)
        if value is None and null:
            return None
        if not isinstance(value, str) or not rx.fullmatch(value):
            raise self.fail(name, f"must be {shape}")
        return value


def _check_text(
    fields: _Fields, name: str, value: str, limit: int, *, empty: bool = False, lines: bool = False
) -> None:
    if not value and not empty:
        raise fields.fail(name, "must not be empty")
    if len(value) > limit:
        raise fields.fail(name, f"is longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise fields.fail(name, "is not valid UTF-8 text") from None
    if _CONTROL.search(value) or (not lines and ("\n" in value or "\r" in value)):
        raise fields.fail(name, "contains control characters")


_PRODUCT_FIELDS = tuple(Product.__dataclass_fields__)
_ARTICLE_FIELDS = tuple(Article.__dataclass_fields__)


def product_from_dict(raw: Any) -> Product:
    """Check one product object and return it typed; `CatalogueError` says what is wrong."""
    code = raw.get("code") if isinstance(raw, dict) else None
    what = f"product {code[:24]!r}" if isinstance(code, str) else "product"
    f = _Fields(what, raw, _PRODUCT_FIELDS)
    product = Product(
        code=f.pattern("code", _CODE, "2 capital letters then 2-18 capitals or digits"),
        name_zh=f.text("name_zh", NAME_MAX),
        name_en=f.text("name_en", NAME_MAX, empty=True),
        category=f.choice("category", CATEGORIES),
        risk=f.choice("risk", RISKS),
        term_days=f.whole("term_days", 1, 36_500, null=True),
        yield_kind=f.choice("yield_kind", YIELD_KINDS),
        yield_pct=f.pattern("yield_pct", _YIELD, "a decimal string like '3.15'", null=True),
        yield_basis_zh=f.text("yield_basis_zh", LINE_MAX, empty=True),
        min_amount_yuan=f.whole("min_amount_yuan", 0, 10**12),  # type: ignore[arg-type]
        tiers=f.texts("tiers", 16, len(TIERS), TIERS),
        segments=f.texts("segments", 32, len(SEGMENTS), SEGMENTS),
        selling_points_zh=f.texts("selling_points_zh", LINE_MAX, POINTS_MAX),
        disclaimer_zh=f.text("disclaimer_zh", DISCLAIMER_MAX, lines=True),
        valid_from=f.day("valid_from"),
        valid_to=f.day("valid_to"),
        image=f.pattern(
            "image", ASSET_NAME, "an asset file name like 'p-wm2026a0123.png'", null=True
        ),
        leaflet=f.pattern("leaflet", ASSET_NAME, "an asset file name like 'l-x.pdf'", null=True),
    )
    _check_product(f, product)
    return product


def _check_product(f: _Fields, p: Product) -> None:
    if (p.yield_kind == "none") != (p.yield_pct is None):
        raise f.fail("yield_pct", "must be null exactly when yield_kind is none")
    if p.yield_pct is not None:
        try:
            Decimal(p.yield_pct)
        except InvalidOperation:
            raise f.fail("yield_pct", "must be a decimal string") from None
    if p.valid_to < p.valid_from:
        raise f.fail("valid_to", "is before valid_from")
    if not p.tiers:
        raise f.fail("tiers", "must name at least one tier")
    if p.image is not None and not p.image.endswith((".png", ".jpg")):
        raise f.fail("image", "must name a .png or .jpg file")
    if p.leaflet is not None and not p.leaflet.endswith(".pdf"):
        raise f.fail("leaflet", "must name a .pdf file")


def article_from_dict(raw: Any) -> Article:
    """Check one article object and return it typed; `CatalogueError` says what is wrong."""
    aid = raw.get("article_id") if isinstance(raw, dict) else None
    what = f"article {aid[:40]!r}" if isinstance(aid, str) else "article"
    f = _Fields(what, raw, _ARTICLE_FIELDS)
    codes = f.texts("product_codes", 24, LIST_MAX)
    for code in codes:
        if not _CODE.fullmatch(code):
            raise f.fail("product_codes", "entries must be product codes")
    tags = f.texts("tags", 32, LIST_MAX)
    if any(not _TAG.fullmatch(t) for t in tags):
        raise f.fail("tags", "entries must be 1-32 printable characters")
    return Article(
        article_id=f.pattern("article_id", _ARTICLE_ID, "1-40 letters, digits, '-' or '_'"),
        kind=f.choice("kind", ARTICLE_KINDS),
        title_zh=f.text("title_zh", NAME_MAX * 2),
        body_zh=f.text("body_zh", BODY_MAX, lines=True),
        tags=tags,
        product_codes=codes,
        updated=f.day("updated"),
    )


def check_catalogue(products: list[Product], articles: list[Article], assets: set[str]) -> None:
    """Check what holds across items: unique codes and ids, every named file present."""
    seen: set[str] = set()
    for p in products:
        if p.code in seen:
            raise CatalogueError(f"product {p.code!r} appears twice")
        seen.add(p.code)
        for name in (p.image, p.leaflet):
            if name is not None and name not in assets:
                raise CatalogueError(
                    f"product {p.code!r} names {name!r}, which is not in the bundle"
                )
    ids: set[str] = set()
    for a in articles:
        if a.article_id in ids:
            raise CatalogueError(f"article {a.article_id!r} appears twice")
        ids.add(a.article_id)
