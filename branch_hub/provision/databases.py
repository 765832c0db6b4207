"""`branch-provision db status`: what each of the hub's databases holds, in counts only.

For branch IT: every SQLite file under the data folder, its size, each table's row count and the
schema migrations it has had (sqlite-utils' `_sqlite_migrations`). Files are opened read-only and
no row's content is printed, so the output carries no customer or staff data.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils

from branch_hub.provision.common import Branch, ProvisionError, add_dir_argument

__all__ = ["register", "status"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `db status`."""
    p = sub.add_parser("db", help="inspect the hub's databases (counts only, no content)")
    actions = p.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    status_parser = actions.add_parser(
        "status", help="each database's size, tables with row counts, and migrations applied"
    )
    add_dir_argument(status_parser)
    status_parser.add_argument("--json", action="store_true", help="one JSON document")
    status_parser.set_defaults(func=run)


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def _describe(path: Path, root: Path) -> dict[str, Any]:
    """One database: its tables' row counts and the migrations recorded in it."""
    conn = _open_read_only(path)
    try:
        db = sqlite_utils.Database(conn, recursive_triggers=False)
        tables = {
            name: db.table(name).count
            for name in db.table_names()
            if name != "_sqlite_migrations" and not name.startswith("sqlite_")
        }
        migrations = []
        if "_sqlite_migrations" in db.table_names():
            migrations = [
                f"{row['migration_set']}:{row['name']}"
                for row in db.table("_sqlite_migrations").rows_where(order_by="id")
            ]
    except sqlite3.DatabaseError as exc:
        return {"file": str(path.relative_to(root)), "error": str(exc)}
    finally:
        conn.close()
    return {
        "file": str(path.relative_to(root)),
        "bytes": path.stat().st_size,
        "tables": tables,
        "migrations": migrations,
    }


def status(data_dir: Path) -> list[dict[str, Any]]:
    """Every database under the hub's data folder, described by counts."""
    if not data_dir.is_dir():
        raise ProvisionError(f"{data_dir}: no data folder (run 'branch-provision init' first)")
    files = sorted(p for p in data_dir.rglob("*.db") if p.is_file())
    return [_describe(path, data_dir) for path in files]


def run(args: argparse.Namespace) -> int:
    """Print the status of every database."""
    report = status(Branch.load(args.dir).data_dir)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    for entry in report:
        if "error" in entry:
            print(f"{entry['file']}: unreadable: {entry['error']}")
            continue
        print(f"{entry['file']}  ({entry['bytes']:,} bytes)")
        for name, count in entry["tables"].items():
            print(f"  {name:<24} {count:>10,} rows")
        if entry["migrations"]:
            print(f"  migrations: {', '.join(entry['migrations'])}")
    return 0
