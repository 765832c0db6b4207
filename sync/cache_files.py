"""The cache folder's files: which database is live, its status, the atomic switch, cleanup.

`current` names the live `customers-<seq>-<rand>.db`; replacing `current` (write, fsync,
rename, fsync the folder) is the one step that switches a snapshot in.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sync.errors import CacheError

__all__ = [
    "CacheStatus",
    "cache_status",
    "db_files",
    "fsync_path",
    "live_file",
    "read_meta",
    "remove_stale",
    "require_status",
    "shred",
    "status_from_meta",
    "switch_current",
]


@dataclass(frozen=True)
class CacheStatus:
    """What the hub reports about its cache (readable without any key)."""

    branch_id: str
    sequence: int
    key_id: str
    records: int
    created: str
    applied_at: float

    @property
    def age_s(self) -> float:
        """Seconds since the cache's content was applied."""
        return max(0.0, time.time() - self.applied_at)


def live_file(cache_dir: Path) -> Path | None:
    """The live database file named by `current`, or None before the first apply."""
    try:
        name = (cache_dir / "current").read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheError(f"cannot read {cache_dir / 'current'}: {exc.strerror}") from exc
    if not name.startswith("customers-") or "/" in name:
        raise CacheError(f"{cache_dir / 'current'} names an unexpected file")
    return cache_dir / name


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    """The database's `meta` table as a dict."""
    return dict(conn.execute("SELECT k, v FROM meta").fetchall())


def status_from_meta(meta: dict[str, str]) -> CacheStatus:
    """The status recorded in a database's `meta` rows."""
    return CacheStatus(
        branch_id=meta["branch_id"],
        sequence=int(meta["sequence"]),
        key_id=meta["key_id"],
        records=int(meta["records"]),
        created=meta["created"],
        applied_at=float(meta["applied_at"]),
    )


def cache_status(cache_dir: Path) -> CacheStatus | None:
    """Return the cache's branch, sequence, key id and age, or None if nothing is applied yet."""
    path = live_file(cache_dir)
    if path is None:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return status_from_meta(read_meta(conn))
        finally:
            conn.close()
    except (sqlite3.Error, KeyError, ValueError) as exc:
        raise CacheError(f"cannot read the cache status from {path.name}: {exc}") from exc


def require_status(cache_dir: Path) -> CacheStatus:
    """The cache's status; CacheError if nothing is applied."""
    status = cache_status(cache_dir)
    if status is None:
        raise CacheError(f"{cache_dir} has no applied cache")
    return status


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def switch_current(cache_dir: Path, name: str) -> None:
    """Make `name` the live database: write `current` aside, then one rename."""
    tmp = cache_dir / ".current.tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, cache_dir / "current")
    fsync_path(cache_dir)


def db_files(path: Path) -> list[Path]:
    """A database file and the journal files SQLite may keep next to it."""
    return [
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        path.with_name(path.name + "-journal"),
    ]


def shred(path: Path) -> None:
    """Overwrite a file with zeros before unlinking it (best effort; see docs/sync.md on SSDs)."""
    with contextlib.suppress(FileNotFoundError):
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            zero = bytes(1 << 20)
            for _ in range(0, size, len(zero)):
                fh.write(zero)
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()


def remove_stale(cache_dir: Path) -> None:
    """Remove database files a crashed pull left behind (never the live one)."""
    live = live_file(cache_dir)
    for path in cache_dir.glob("customers-*"):
        base = path.name.split(".db")[0] + ".db"
        if live is None or base != live.name:
            path.unlink(missing_ok=True)
