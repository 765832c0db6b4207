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
BROAD_MATCHES = 2000  # beyond this many rows, ranking body hits by bm25 costs more than it tells


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


@dataclass(frozen=True)
class _Table:
    """One searchable table: its FTS twin, the column of names, the bm25 column weights."""

    name: str
    columns: str
    name_column: str
    weights: str

    def sql(self, where: str, order: str) -> str:
        """Rows of this table matching the MATCH parameter and the filters, in this order."""
        alias = self.name[0]
        return (
            f"SELECT {self.columns} FROM {self.name}_fts "  # noqa: S608 (fixed names, ? values)
            f"JOIN {self.name} {alias} ON {alias}.id = {self.name}_fts.rowid "
            f"WHERE {self.name}_fts MATCH ? AND {where} ORDER BY {order} LIMIT ?"
        )


_PRODUCTS = _Table("product", _PRODUCT_COLUMNS, "name", "10.0, 2.0")  # name, selling points
_ARTICLES = _Table("article", _ARTICLE_COLUMNS, "title", "10.0, 4.0, 1.0")  # title, tags, body


def _product_hit(row: tuple[Any, ...], name_hit: bool) -> ProductHit:
    return ProductHit(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], name_hit
    )


def _article_hit(row: tuple[Any, ...], title_hit: bool) -> ArticleHit:
    return ArticleHit(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4], title_hit)


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

    @property
    def catalogue_version(self) -> str:
        """The version of the catalogue this index was built from."""
        rows = self._rows("SELECT value FROM meta WHERE key = 'catalogue_version'", [])
        return str(rows[0][0]) if rows else ""

    def _ranked(
        self, table: _Table, terms: list[str], where: str, params: list[Any], limit: int
    ) -> list[tuple[tuple[Any, ...], bool]]:
        """Rows with every term in their name first, then the rest; each group best first.

        A word in most of the catalogue (a single character, 理财) has thousands of body
        hits whose bm25 says little; those come newest first, which costs no ranking at all.
        """
        anywhere = match_expression(terms)
        in_name = f"{{{table.name_column}}} : ({anywhere})"
        bm25 = f"bm25({table.name}_fts, {table.weights}), {table.name}_fts.rowid"
        named = self._rows(table.sql(where, bm25), [in_name, *params, limit])
        found = [(row, True) for row in named]
        if len(found) < limit:
            count = f"SELECT count(*) FROM {table.name}_fts WHERE {table.name}_fts MATCH ?"  # noqa: S608
            broad = self._rows(count, [anywhere])[0][0] > BROAD_MATCHES
            order = f"{table.name}_fts.rowid" if broad else bm25
            rest = [f"{anywhere} NOT {in_name}", *params, limit - len(found)]
            found += [(row, False) for row in self._rows(table.sql(where, order), rest)]
        return found

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
        terms, limit = terms_of(query), max(0, limit)  # SQLite reads a negative LIMIT as none
        if terms:
            return [
                _product_hit(*hit) for hit in self._ranked(_PRODUCTS, terms, where, params, limit)
            ]
        sql = f"SELECT {_PRODUCT_COLUMNS} FROM product p WHERE {where} "  # noqa: S608
        rows = self._rows(sql + "ORDER BY p.category, p.code LIMIT ?", [*params, limit])
        return [_product_hit(row, False) for row in rows]

    def articles(
        self,
        query: str,
        kinds: Collection[str] = (),
        product_code: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[ArticleHit]:
        """Articles matching every word of `query`, newest first for a blank query."""
        where, params = _article_filters(kinds, product_code)
        terms, limit = terms_of(query), max(0, limit)
        if terms:
            return [
                _article_hit(*hit) for hit in self._ranked(_ARTICLES, terms, where, params, limit)
            ]
        sql = f"SELECT {_ARTICLE_COLUMNS} FROM article a WHERE {where} "  # noqa: S608
        rows = self._rows(sql + "ORDER BY a.id LIMIT ?", [*params, limit])
        return [_article_hit(row, False) for row in rows]

    def product(self, code: str) -> Mapping[str, Any] | None:
        """The whole catalogue record of one product, for its detail page."""
        rows = self._rows(
            "SELECT r.record FROM product p JOIN product_record r ON r.id = p.id WHERE p.code = ?",
            [code],
        )
        return json.loads(rows[0][0]) if rows else None

    def article_body(self, article_id: str) -> str | None:
        """The text of one article."""
        rows = self._rows(
            "SELECT b.body_zh FROM article a JOIN article_body b ON b.id = a.id "
            "WHERE a.article_id = ?",
            [article_id],
        )
        return str(rows[0][0]) if rows else None
