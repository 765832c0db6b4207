"""Search in Chinese over the tablet's catalogue index: products and knowledge-base articles.

Every word of the search box must occur (as part of a word, so 稳健 finds 稳健型 and 理财 finds
理财产品); name and title hits rank above hits in selling points or bodies, then bm25. Filters are
SQL parameters and the MATCH expression is built from hex tokens only, so no input widens a query.
Products outside their validity window on the given day are never returned.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from branch_common.suitability import risk_rank
from branch_hub.client._catalogue_grams import match_expression, terms_of

__all__ = ["ArticleHit", "CatalogueSearch", "ProductHit"]

DEFAULT_LIMIT = 20
_NAME_WEIGHTS = "10.0, 2.0"  # name (with English name and code), selling points
_ARTICLE_WEIGHTS = "10.0, 4.0, 1.0"  # title, tags, body


@dataclass(frozen=True)
class ProductHit:
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


@dataclass(frozen=True)
class ArticleHit:
    """One knowledge-base article found (its body is read with CatalogueSearch.article_body)."""

    article_id: str
    kind: str
    title_zh: str
    product_codes: tuple[str, ...]
    updated: str
    title_hit: bool


def _name_hits(column: str, terms: list[str]) -> tuple[str, list[str]]:
    """SQL counting the terms found in a normalised name column, and its parameters."""
    return " + ".join(f"(instr({column}, ?) > 0)" for _ in terms), terms


def _product_filters(
    today: date, categories: Collection[str], max_risk: str | None
) -> tuple[str, list[Any]]:
    day = today.isoformat()
    sql, params = "p.valid_from <= ? AND ? <= p.valid_to", list[Any]([day, day])
    if categories:
        sql += f" AND p.category IN ({', '.join('?' * len(categories))})"
        params.extend(sorted(categories))
    if max_risk is not None:
        rank = risk_rank(max_risk)
        if rank is None:
            raise ValueError(f"max_risk must be R1-R5, not {max_risk!r}")
        sql += " AND p.risk_rank <= ?"
        params.append(rank)
    return sql, params


def _article_filters(kinds: Collection[str], product_code: str | None) -> tuple[str, list[Any]]:
    sql, params = "1", list[Any]()
    if kinds:
        sql += f" AND a.kind IN ({', '.join('?' * len(kinds))})"
        params.extend(sorted(kinds))
    if product_code is not None:
        sql += " AND EXISTS (SELECT 1 FROM json_each(a.product_codes) WHERE value = ?)"
        params.append(product_code)
    return sql, params


_PRODUCT_COLUMNS = (
    "p.code, p.name_zh, p.name_en, p.category, p.risk, p.term_days, p.yield_pct, "
    "p.min_amount_yuan, p.valid_to"
)
_ARTICLE_COLUMNS = "a.article_id, a.kind, a.title_zh, a.product_codes, a.updated"


def _match_sql(table: str, columns: str, hits: str, where: str, weights: str, tie: str) -> str:
    """A full-text search of one table: name hits first, then bm25 with these column weights."""
    alias = table[0]
    return (
        f"SELECT {columns}, {hits} AS hits FROM {table}_fts "  # noqa: S608 (fixed names, ? values)
        f"JOIN {table} {alias} ON {alias}.id = {table}_fts.rowid "
        f"WHERE {table}_fts MATCH ? AND {where} "
        f"ORDER BY hits DESC, bm25({table}_fts, {weights}), {tie} LIMIT ?"
    )


def _product_hit(row: tuple[Any, ...]) -> ProductHit:
    return ProductHit(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], bool(row[9])
    )


class CatalogueSearch:
    """A read-only view of one built index file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        uri = path.resolve().as_uri() + "?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the file (before the index is replaced by a newer catalogue)."""
        self._db.close()

    def _rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def products(
        self,
        query: str,
        today: date,
        categories: Collection[str] = (),
        max_risk: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[ProductHit]:
        """Products on sale today matching every word of `query` (all of them for a blank query)."""
        where, params = _product_filters(today, categories, max_risk)
        terms = terms_of(query)
        if not terms:
            sql = f"SELECT {_PRODUCT_COLUMNS}, 0 FROM product p WHERE {where} "  # noqa: S608
            rows = self._rows(sql + "ORDER BY p.category, p.code LIMIT ?", [*params, limit])
        else:
            hits, hit_params = _name_hits("p.name_key", terms)
            sql = _match_sql("product", _PRODUCT_COLUMNS, hits, where, _NAME_WEIGHTS, "p.code")
            rows = self._rows(sql, [*hit_params, match_expression(terms), *params, limit])
        return [_product_hit(row) for row in rows]

    def articles(
        self,
        query: str,
        kinds: Collection[str] = (),
        product_code: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[ArticleHit]:
        """Articles matching every word of `query`, newest first for a blank query."""
        where, params = _article_filters(kinds, product_code)
        terms = terms_of(query)
        if not terms:
            sql = f"SELECT {_ARTICLE_COLUMNS}, 0 FROM article a WHERE {where} "  # noqa: S608
            rows = self._rows(sql + "ORDER BY a.updated DESC, a.id LIMIT ?", [*params, limit])
        else:
            hits, hit_params = _name_hits("a.title_key", terms)
            sql = _match_sql("article", _ARTICLE_COLUMNS, hits, where, _ARTICLE_WEIGHTS, "a.id")
            rows = self._rows(sql, [*hit_params, match_expression(terms), *params, limit])
        return [
            ArticleHit(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], title_hit=bool(r[5]))
            for r in rows
        ]

    def product(self, code: str) -> Mapping[str, Any] | None:
        """The whole catalogue record of one product, for its detail page."""
        rows = self._rows("SELECT record FROM product WHERE code = ?", [code])
        return json.loads(rows[0][0]) if rows else None

    def article_body(self, article_id: str) -> str | None:
        """The text of one article."""
        rows = self._rows("SELECT body_zh FROM article WHERE article_id = ?", [article_id])
        return str(rows[0][0]) if rows else None
