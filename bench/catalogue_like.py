"""The catalogue search bench's baselines: a plain LIKE scan, and the trigram FTS5 design not chosen.

Both answer the same calls as CatalogueSearch (products, articles) with the same filters and the
same order of name hits first, so the bench can time them on the same searches and check the rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from branch_common.suitability import risk_rank
from branch_hub.client._catalogue_grams import terms_of

__all__ = ["LikeSearch", "TrigramSearch", "build_trigram"]


@dataclass(frozen=True)
class Row:
    """A found product (code) or article (article_id): all the bench compares."""

    code: str

    @property
    def article_id(self) -> str:
        """The same key, named as an article's."""
        return self.code


def _product_where(
    today: date, categories: Collection[str], max_risk: str | None
) -> tuple[str, list[Any]]:
    sql, params = "p.valid_from <= ? AND ? <= p.valid_to", list[Any]([today.isoformat()] * 2)
    if categories:
        sql += f" AND p.category IN ({', '.join('?' * len(categories))})"
        params.extend(categories)
    if max_risk is not None:
        sql += " AND p.risk_rank <= ?"
        params.append(risk_rank(max_risk))
    return sql, params


def _kinds_where(kinds: Collection[str]) -> tuple[str, list[Any]]:
    if not kinds:
        return "1", []
    return f"a.kind IN ({', '.join('?' * len(kinds))})", list(kinds)


def _like(columns: tuple[str, ...], terms: list[str]) -> tuple[str, list[str]]:
    """Every term somewhere in one of the columns, as a LIKE '%term%' scan."""
    one = "(" + " OR ".join(f"{c} LIKE ?" for c in columns) + ")"
    params = [f"%{t}%" for t in terms for _ in columns]
    return " AND ".join([one] * len(terms)) or "1", params


def _hits(column: str, terms: list[str]) -> tuple[str, list[str]]:
    return " + ".join(f"(instr({column}, ?) > 0)" for _ in terms) or "0", terms


class _Engine:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, params: list[Any]) -> list[Row]:
        return [Row(str(r[0])) for r in self._db.execute(sql, params)]


class LikeSearch(_Engine):
    """The baseline: LIKE '%word%' over the plain product and article rows of the index file."""

    def products(
        self, query: str, today: date, categories: Collection[str], max_risk: str | None, limit: int
    ) -> list[Row]:
        """Products on sale matching every word, name hits first."""
        terms = terms_of(query)
        where, params = _product_where(today, categories, max_risk)
        like, like_params = _like(("p.name_zh", "p.name_en", "p.code", "p.points"), terms)
        hits, hit_params = _hits("p.name_key", terms)
        sql = f"SELECT p.code, {hits} AS h FROM product p WHERE {where} AND {like} "  # noqa: S608
        sql += "ORDER BY h DESC, p.code LIMIT ?"
        return self._rows(sql, [*hit_params, *params, *like_params, limit])

    def articles(
        self, query: str, kinds: Collection[str], product_code: str | None, limit: int
    ) -> list[Row]:
        """Articles matching every word, title hits first."""
        terms = terms_of(query)
        where, params = _kinds_where(kinds)
        like, like_params = _like(("a.title_zh", "b.body_zh", "a.tags"), terms)
        hits, hit_params = _hits("a.title_key", terms)
        sql = "SELECT a.article_id, " + hits + " AS h FROM article a "  # noqa: S608
        sql += "JOIN article_body b ON b.id = a.id "
        sql += f"WHERE {where} AND {like} "
        sql += "ORDER BY h DESC, a.id LIMIT ?"
        return self._rows(sql, [*hit_params, *params, *like_params, limit])


def build_trigram(path: Path, index: Path) -> Path:
    """A copy of the index's plain rows with trigram FTS5 tables (content stored, for LIKE)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("ATTACH DATABASE ? AS src", [str(index)])
    db.executescript(
        """
        BEGIN;
        CREATE TABLE product AS SELECT * FROM src.product;
        CREATE TABLE article AS SELECT * FROM src.article;
        CREATE TABLE article_body AS SELECT * FROM src.article_body;
        CREATE VIRTUAL TABLE product_tri USING fts5(name, points, tokenize='trigram');
        CREATE VIRTUAL TABLE article_tri USING fts5(title, tags, body, tokenize='trigram');
        INSERT INTO product_tri (rowid, name, points)
            SELECT id, name_zh || ' ' || name_en || ' ' || code, points FROM product;
        INSERT INTO article_tri (rowid, title, tags, body)
            SELECT a.id, a.title_zh, a.tags, b.body_zh FROM article a JOIN article_body b USING (id);
        CREATE UNIQUE INDEX product_id ON product (id);
        CREATE UNIQUE INDEX article_id ON article (id);
        COMMIT;
        """
    )
    db.execute("DETACH DATABASE src")
    db.close()
    return path


def _trigram_match(terms: list[str]) -> str:
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms if len(t) >= 3)


class TrigramSearch(_Engine):
    """The design not chosen: trigram FTS5 for 3+ character words, a scan for shorter ones."""

    def _search(self, table: str, select: str, where: str, terms: list[str]) -> tuple[str, str]:
        match = _trigram_match(terms)
        short = [t for t in terms if len(t) < 3]
        columns = ("name", "points") if table == "product_tri" else ("title", "tags", "body")
        like, _ = _like(tuple(f"{table}.{c}" for c in columns), short)
        source = f"{table} JOIN {select} ON {select[-1]}.id = {table}.rowid"
        cond = f"{table} MATCH ? AND {like}" if match else like
        return f"FROM {source} WHERE {cond} AND {where}", match

    def products(
        self, query: str, today: date, categories: Collection[str], max_risk: str | None, limit: int
    ) -> list[Row]:
        """Products on sale matching every word, name hits first."""
        terms = terms_of(query)
        where, params = _product_where(today, categories, max_risk)
        body, match = self._search("product_tri", "product p", where, terms)
        hits, hit_params = _hits("p.name_key", terms)
        short = [f"%{t}%" for t in terms if len(t) < 3 for _ in range(2)]
        sql = f"SELECT p.code, {hits} AS h {body} ORDER BY h DESC, p.code LIMIT ?"
        head = [match] if match else []
        return self._rows(sql, [*hit_params, *head, *short, *params, limit])

    def articles(
        self, query: str, kinds: Collection[str], product_code: str | None, limit: int
    ) -> list[Row]:
        """Articles matching every word, title hits first."""
        terms = terms_of(query)
        where, params = _kinds_where(kinds)
        body, match = self._search("article_tri", "article a", where, terms)
        hits, hit_params = _hits("a.title_key", terms)
        short = [f"%{t}%" for t in terms if len(t) < 3 for _ in range(3)]
        sql = f"SELECT a.article_id, {hits} AS h {body} ORDER BY h DESC, a.id LIMIT ?"
        head = [match] if match else []
        return self._rows(sql, [*hit_params, *head, *short, *params, limit])
