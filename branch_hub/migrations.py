"""Schema migrations for the hub's SQLite files, on sqlite-utils' `Migrations`.

Each store creates its tables in their current shape; its migration set brings a file made by an
older version up to that shape (a column added, a table rebuilt) and sqlite-utils records each
step in `_sqlite_migrations`. The hub and `branch-provision` may open a file at the same moment,
so a set is applied under one immediate transaction: the second opener waits, then finds nothing
pending.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

import sqlite_utils
from sqlite_utils.db import Table
from sqlite_utils.migrations import Migrations

__all__ = ["Migrations", "add_column_if_missing", "applied", "migrate", "use_wal"]


def _table(db: sqlite_utils.Database, name: str) -> Table:
    table = db[name]
    if not isinstance(table, Table):
        raise TypeError(f"{name} is a view, not a table")
    return table


def add_column_if_missing(
    table: str, column: str, kind: type
) -> Callable[[sqlite_utils.Database], None]:
    """A migration adding one nullable column to a table made before the column existed."""

    def apply(db: sqlite_utils.Database) -> None:
        if column not in _table(db, table).columns_dict:
            _table(db, table).add_column(column, kind)

    apply.__name__ = f"{table}_{column}"
    return apply


def use_wal(conn: sqlite3.Connection, attempts: int = 50, pause_s: float = 0.1) -> None:
    """Switch a file to WAL, waiting for another opener that holds it (bounded).

    The switch needs the file to itself, and SQLite answers "locked" at once instead of
    waiting when another connection is part-way through its own first open.
    """
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause_s)
        else:
            return


def migrate(conn: sqlite3.Connection, migrations: Migrations) -> list[str]:
    """Apply what this file has not had yet of one migration set; return the names applied."""
    db = sqlite_utils.Database(conn, recursive_triggers=False)
    conn.execute("BEGIN IMMEDIATE")  # one opener at a time decides what is pending
    try:
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)  # each step in a savepoint inside this transaction
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return pending


def applied(conn: sqlite3.Connection, migrations: Migrations) -> list[tuple[str, str]]:
    """The migrations of one set a file has had, as (name, applied at), oldest first."""
    db = sqlite_utils.Database(conn, recursive_triggers=False)
    return [(m.name, m.applied_at) for m in migrations.applied(db)]
