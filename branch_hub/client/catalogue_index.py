"""The tablet's local search index of a verified product catalogue: one SQLite file, built whole.

The catalogue is public bank material, not customer data, so it may sit on the device's disk. It is
rebuilt from each new verified catalogue into a temporary file that then replaces the old index in
one rename, so a search never sees half of two catalogues. Products and articles are plain
mappings with the catalogue's keys (docs/catalogue.md); the FTS5 tables hold bigram tokens
(_catalogue_grams) and no content of their own.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from branch_common.suitability import risk_rank
from branch_hub.client._catalogue_grams import grams_of, normalise

__all__ = ["SCHEMA_VERSION", "build_index", "fts5_available"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE product (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL, category TEXT NOT NULL, risk TEXT NOT NULL, risk_rank INTEGER NOT NULL,
    term_days INTEGER, yield_pct TEXT, min_amount_yuan INTEGER NOT NULL,
    valid_from TEXT NOT NULL, valid_to TEXT NOT NULL, name_key TEXT NOT NULL, points TEXT NOT NULL
);
CREATE TABLE product_record (id INTEGER PRIMARY KEY, record TEXT NOT NULL);
CREATE INDEX product_filter ON product (category, risk_rank);
CREATE TABLE article (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    title_zh TEXT NOT NULL, tags TEXT NOT NULL, product_codes TEXT NOT NULL,
    updated TEXT NOT NULL, title_key TEXT NOT NULL
);
CREATE TABLE article_body (id INTEGER PRIMARY KEY, body_zh TEXT NOT NULL);
CREATE INDEX article_kind ON article (kind);
CREATE VIRTUAL TABLE product_fts USING fts5(name, points, content='', tokenize='ascii');
CREATE VIRTUAL TABLE article_fts USING fts5(title, tags, body, content='', tokenize='ascii');
"""


def fts5_available() -> bool:
    """True when this Python's SQLite has FTS5 (an Android build must enable it)."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE probe USING fts5(text, tokenize='ascii')")
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
    return True


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: object) -> list[str]:
    """The strings of a list (or a model's tuple); anything else holds none."""
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, str)]


def _product_row(index: int, p: Mapping[str, Any]) -> tuple[Any, ...]:
    rank = risk_rank(_text(p.get("risk")))
    if rank is None:
        raise ValueError(f"product {p.get('code')!r} has no risk level R1-R5")
    code, name_zh, name_en = str(p["code"]), _text(p.get("name_zh")), _text(p.get("name_en"))
    points = "\n".join(_texts(p.get("selling_points_zh")))
    return (
        index, code, name_zh, name_en, str(p["category"]), p["risk"], rank, p.get("term_days"),
        p.get("yield_pct"), int(p.get("min_amount_yuan") or 0), str(p["valid_from"]),
        str(p["valid_to"]), normalise(f"{name_zh}\n{name_en}\n{code}"), points,
    )  # fmt: skip


def _article_row(index: int, a: Mapping[str, Any]) -> tuple[Any, ...]:
    title = _text(a.get("title_zh"))
    return (
        index, str(a["article_id"]), str(a["kind"]), title, "\n".join(_texts(a.get("tags"))),
        json.dumps(_texts(a.get("product_codes"))), _text(a.get("updated")), normalise(title),
    )  # fmt: skip


def _fill_products(db: sqlite3.Connection, products: Iterable[Mapping[str, Any]]) -> int:
    listed = sorted(products, key=lambda p: str(p["valid_from"]), reverse=True)
    rows = [_product_row(i, p) for i, p in enumerate(listed, start=1)]
    db.executemany(f"INSERT INTO product VALUES ({', '.join('?' * 14)})", rows)  # noqa: S608 (constant)
    db.executemany(
        "INSERT INTO product_record VALUES (?, ?)",
        ((i, json.dumps(p, ensure_ascii=False, sort_keys=True, default=str))
         for i, p in enumerate(listed, start=1)),
    )  # fmt: skip
    db.executemany(
        "INSERT INTO product_fts (rowid, name, points) VALUES (?, ?, ?)",
        ((r[0], grams_of(r[2], r[3], r[1]), grams_of(r[13])) for r in rows),
    )
    return len(rows)


def _fill_articles(db: sqlite3.Connection, articles: Iterable[Mapping[str, Any]]) -> int:
    listed = sorted(articles, key=lambda a: _text(a.get("updated")), reverse=True)
    rows = [_article_row(i, a) for i, a in enumerate(listed, start=1)]
    bodies = [(i, _text(a.get("body_zh"))) for i, a in enumerate(listed, start=1)]
    db.executemany(f"INSERT INTO article VALUES ({', '.join('?' * 8)})", rows)  # noqa: S608 (constant)
    db.executemany("INSERT INTO article_body VALUES (?, ?)", bodies)
    db.executemany(
        "INSERT INTO article_fts (rowid, title, tags, body) VALUES (?, ?, ?, ?)",
        (
            (r[0], grams_of(r[3]), grams_of(r[4]), grams_of(b[1]))
            for r, b in zip(rows, bodies, strict=True)
        ),
    )
    return len(rows)


def build_index(
    path: Path,
    products: Iterable[Mapping[str, Any]],
    articles: Iterable[Mapping[str, Any]],
    version: str = "",
) -> Path:
    """Write the index of this catalogue to `path`, replacing any older one in one rename."""
    if not fts5_available():
        raise RuntimeError(f"SQLite {sqlite3.sqlite_version} lacks FTS5: no catalogue search")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.executescript(_SCHEMA)
        db.execute("BEGIN")
        counts = (_fill_products(db, products), _fill_articles(db, articles))
        db.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("schema", str(SCHEMA_VERSION)), ("catalogue_version", version),
             ("products", str(counts[0])), ("articles", str(counts[1]))],
        )  # fmt: skip
        db.execute("COMMIT")
        db.execute("INSERT INTO product_fts (product_fts) VALUES ('optimize')")
        db.execute("INSERT INTO article_fts (article_fts) VALUES ('optimize')")
        db.execute("VACUUM")
    finally:
        db.close()
    with partial.open("rb+") as written:
        os.fsync(written.fileno())
    partial.replace(path)
    return path
