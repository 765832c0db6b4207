"""Apply verified bundles to the cache: a snapshot into a new file switched in, a delta in place.

A snapshot is built in a new database file and switched in by replacing `current`; a delta is
one WAL transaction on the live file. Either way a crash leaves the previous version usable.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.bundle import TAG_BYTES, Manifest, iter_delete_chunk, iter_upsert_chunk, utc_now
from sync.cache_files import (
    CacheStatus,
    cache_status,
    db_files,
    fsync_path,
    live_file,
    read_meta,
    remove_stale,
    require_status,
    shred,
    switch_current,
)
from sync.errors import BundleError, CacheError, RollbackError, SequenceGapError, WrongBranchError
from sync.keys import unwrap_keys

__all__ = ["apply_delta", "apply_snapshot"]

# SQLite's page cache while applying, in KiB. The snapshot's index sorts take as much again
# (twice) before spilling to temp files, so this bounds what an apply holds in the hub's memory:
# at 16 MiB a million-customer snapshot peaked 82 MB above the process's RSS, at 4 MiB 42 MB,
# and applied no slower (docs/performance.md, "Hub memory as the cache grows").
APPLY_CACHE_KIB = 4096

DELTA_BATCH = 1000  # delta rows looked up and written together

# 8 KiB pages: a sealed record (~850 bytes) leaves less slack per page than with 4 KiB.
_DDL = """
PRAGMA page_size=8192;
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE customer (
    id INTEGER PRIMARY KEY,
    ref BLOB NOT NULL,
    version INTEGER NOT NULL,
    hs BLOB NOT NULL,
    sealed BLOB NOT NULL
);
CREATE TABLE blind_index (
    h BLOB NOT NULL,
    customer INTEGER NOT NULL,
    PRIMARY KEY (h, customer)
) WITHOUT ROWID;
"""
# Built after the bulk insert: sorting once is much cheaper than growing B-trees in random
# order. The blind index rows are cut out of each customer's `hs` column inside SQLite.
_INDEXES = """
CREATE UNIQUE INDEX customer_ref ON customer(ref);
WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < :most)
INSERT INTO blind_index
    SELECT substr(c.hs, 16 * k.n + 1, 16), c.id FROM customer c JOIN k ON k.n < length(c.hs) / 16
    ORDER BY 1, 2;
"""


def _check_manifest(manifest: Manifest, branch_id: str, local: CacheStatus | None) -> None:
    if manifest.branch_id != branch_id:
        raise WrongBranchError(
            f"the bundle is for branch {manifest.branch_id!r}, this hub is branch {branch_id!r}"
        )
    if local is not None and manifest.sequence <= local.sequence:
        raise RollbackError(
            f"bundle sequence {manifest.sequence} is not newer than the cache's {local.sequence} (refusing to go back)"
        )


def _meta_rows(manifest: Manifest, records: int) -> list[tuple[str, str]]:
    return [
        ("format", "1"),
        ("branch_id", manifest.branch_id),
        ("sequence", str(manifest.sequence)),
        ("key_id", manifest.key_id),
        ("wrapped_keys", orjson.dumps(manifest.wrapped_keys).decode()),
        ("created", manifest.created),
        ("applied_at", repr(time.time())),
        ("applied_at_iso", utc_now()),
        ("records", str(records)),
    ]


def _write_meta(conn: sqlite3.Connection, manifest: Manifest, records: int) -> None:
    """Record the applied version in `meta` (inside the caller's transaction)."""
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", _meta_rows(manifest, records))


def _read_chunk(path: Path) -> bytes:
    return path.read_bytes()


def _discard(path: Path) -> None:
    for p in db_files(path):
        with contextlib.suppress(OSError):
            p.unlink(missing_ok=True)


def apply_snapshot(
    cache_dir: Path,
    manifest: Manifest,
    chunk_paths: Iterable[Path],
    hub_key: X25519PrivateKey,
    branch_id: str,
) -> CacheStatus:
    """Build the snapshot in a new database file and switch it in atomically."""
    local = cache_status(cache_dir)
    _check_manifest(manifest, branch_id, local)
    unwrap_keys(manifest.wrapped_keys, hub_key, manifest.branch_id, manifest.key_id)  # fail early
    remove_stale(cache_dir)
    name = f"customers-{manifest.sequence:08d}-{secrets.token_hex(4)}.db"
    path = cache_dir / name
    where = f"the cache stays at sequence {local.sequence if local else 0}"
    try:
        _build_snapshot(path, manifest, chunk_paths)
        fsync_path(path)
    except sqlite3.IntegrityError as exc:
        _discard(path)
        raise BundleError(
            f"snapshot {manifest.sequence} holds a customer twice ({exc}); {where}"
        ) from exc
    except (sqlite3.Error, OSError) as exc:
        _discard(path)
        raise CacheError(f"cannot apply snapshot {manifest.sequence}: {exc}; {where}") from exc
    except BaseException:
        _discard(path)
        raise
    _switch_in(cache_dir, name, manifest, local, where)
    return require_status(cache_dir)


def _build_snapshot(path: Path, manifest: Manifest, chunk_paths: Iterable[Path]) -> None:
    """Write every record, then the indexes and `meta`, into a new database file."""
    db = sqlite_utils.Database(path)
    os.chmod(path, 0o600)  # -wal and -shm inherit the database file's mode
    conn: sqlite3.Connection = db.conn
    try:
        # A half-built file is discarded after a crash, so it needs no journal.
        conn.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
        )
        conn.execute(f"PRAGMA cache_size=-{APPLY_CACHE_KIB}")
        conn.executescript(_DDL)
        conn.execute("BEGIN")
        records = most = 0
        for cpath in chunk_paths:
            count, chunk_most = _insert_snapshot_chunk(
                conn, _read_chunk(cpath), records + 1, manifest.sequence
            )
            records += count
            most = max(most, chunk_most)
        if records != sum(c["records"] for c in manifest.chunks):
            raise BundleError("the chunks do not hold the number of records the manifest lists")
        for statement in _INDEXES.strip().split(";"):
            if statement.strip():
                conn.execute(statement, {"most": max(most, 1)} if ":most" in statement else ())
        _write_meta(conn, manifest, records)
        conn.execute("COMMIT")
        conn.execute("PRAGMA locking_mode=NORMAL")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()


def _insert_snapshot_chunk(
    conn: sqlite3.Connection, data: bytes, first_id: int, version: int
) -> tuple[int, int]:
    """Insert one upsert chunk's records; return how many and the most blind indexes of one."""
    seen = [0, 0]  # records, most blind indexes of one

    def rows() -> Iterator[tuple[int, bytes, int, bytes, bytes]]:
        # One row at a time: a chunk's 10,000 rows as a list held another ~15 MB in the hub.
        for n, (ref, hs, sealed) in enumerate(iter_upsert_chunk(data)):
            seen[0], seen[1] = n + 1, max(seen[1], len(hs) // TAG_BYTES)
            yield first_id + n, ref, version, hs, sealed

    conn.executemany("INSERT INTO customer VALUES (?,?,?,?,?)", rows())
    return seen[0], seen[1]


def _switch_in(
    cache_dir: Path, name: str, manifest: Manifest, local: CacheStatus | None, where: str
) -> None:
    """Replace `current`, then remove (or, after a key rotation, shred) the old files."""
    old = live_file(cache_dir)
    try:
        switch_current(cache_dir, name)  # the switch: one rename
    except OSError as exc:
        # Before the rename the old version is live; a new file left behind is removed by the
        # next pull (remove_stale).
        raise CacheError(f"cannot switch to snapshot {manifest.sequence}: {exc}; {where}") from exc
    if old is None:
        return
    rotated = local is not None and local.key_id != manifest.key_id
    for p in db_files(old):
        # Key rotation: the old file holds the only local copy of the old wrapped keys.
        if rotated:
            shred(p)
        else:
            p.unlink(missing_ok=True)


def _split(hs: bytes) -> set[bytes]:
    return {hs[i : i + TAG_BYTES] for i in range(0, len(hs), TAG_BYTES)}


def _existing(conn: sqlite3.Connection, refs: list[bytes]) -> dict[bytes, tuple[int, bytes]]:
    """Map refs already in the cache to (row id, blind indexes), 500 per query."""
    out: dict[bytes, tuple[int, bytes]] = {}
    for i in range(0, len(refs), 500):
        part = refs[i : i + 500]
        marks = ",".join("?" * len(part))
        for ref, row_id, hs in conn.execute(
            f"SELECT ref, id, hs FROM customer WHERE ref IN ({marks})",  # noqa: S608 (only '?' marks)
            part,
        ):
            out[ref] = (row_id, hs)
    return out


def _apply_deletes(conn: sqlite3.Connection, refs: list[bytes]) -> int:
    found = _existing(conn, refs)
    links = [(h, row_id) for row_id, hs in found.values() for h in _split(hs)]
    conn.executemany("DELETE FROM blind_index WHERE h = ? AND customer = ?", sorted(links))
    conn.executemany("DELETE FROM customer WHERE id = ?", sorted((r,) for r, _ in found.values()))
    return len(found)


def _row_id_of_update(update: tuple[int, bytes, bytes, int]) -> int:
    return update[3]


def _apply_upserts(conn: sqlite3.Connection, data: bytes, version: int) -> int:
    """Update changed customers in place and insert new ones; return how many were new."""
    rows = iter_upsert_chunk(data)
    new = 0
    # A slice at a time: the rows, their lookups and writes held in memory stay small.
    while batch := list(itertools.islice(rows, DELTA_BATCH)):
        new += _apply_upsert_batch(conn, batch, version)
    return new


def _apply_upsert_batch(
    conn: sqlite3.Connection, batch: list[tuple[bytes, bytes, bytes]], version: int
) -> int:
    """Apply (ref, blind indexes, sealed) rows; return how many were new."""
    found = _existing(conn, [ref for ref, _, _ in batch])
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM customer").fetchone()
    updates: list[tuple[int, bytes, bytes, int]] = []
    inserts: list[tuple[int, bytes, int, bytes, bytes]] = []
    drop: list[tuple[bytes, int]] = []
    add: list[tuple[bytes, int]] = []
    for ref, hs, sealed in batch:
        old = found.get(ref)
        if old is None:
            top += 1
            inserts.append((top, ref, version, hs, sealed))
            add.extend((h, top) for h in _split(hs))
            continue
        row_id, old_hs = old
        updates.append((version, hs, sealed, row_id))
        if old_hs != hs:
            before, after = _split(old_hs), _split(hs)
            drop.extend((h, row_id) for h in before - after)
            add.extend((h, row_id) for h in after - before)
    # Sorted by key, the writes walk each B-tree once instead of jumping around it.
    updates.sort(key=_row_id_of_update)
    conn.executemany("UPDATE customer SET version = ?, hs = ?, sealed = ? WHERE id = ?", updates)
    conn.executemany("INSERT INTO customer VALUES (?, ?, ?, ?, ?)", inserts)
    conn.executemany("DELETE FROM blind_index WHERE h = ? AND customer = ?", sorted(drop))
    conn.executemany("INSERT INTO blind_index VALUES (?, ?)", sorted(add))
    return len(inserts)


def _apply_delta_chunk(conn: sqlite3.Connection, kind: str, data: bytes, version: int) -> int:
    """Apply one delta chunk; return how the number of records changed."""
    if kind == "delete":
        return -_apply_deletes(conn, list(iter_delete_chunk(data)))
    return _apply_upserts(conn, data, version)


def apply_delta(
    cache_dir: Path,
    manifest: Manifest,
    chunk_paths: Iterable[tuple[str, Path]],
    hub_key: X25519PrivateKey,
    branch_id: str,
) -> CacheStatus:
    """Apply a delta (upserts and deletes) to the live database in one transaction."""
    local = cache_status(cache_dir)
    _check_manifest(manifest, branch_id, local)
    if local is None or manifest.base_sequence != local.sequence:
        have = local.sequence if local else 0
        raise SequenceGapError(
            f"delta {manifest.sequence} starts at sequence {manifest.base_sequence}, the cache is at {have}"
        )
    if manifest.key_id != local.key_id:
        raise SequenceGapError(
            f"delta {manifest.sequence} uses key id {manifest.key_id!r}, the cache has {local.key_id!r}"
        )
    path = live_file(cache_dir) or cache_dir / "missing"
    where = f"the cache stays at sequence {local.sequence}"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA cache_size=-{APPLY_CACHE_KIB}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            _apply_delta_in_transaction(conn, manifest, chunk_paths, local)
            conn.execute("COMMIT")
            # Fold the delta into the database file so reads don't walk a long WAL.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
    except (sqlite3.Error, OSError) as exc:
        raise CacheError(f"cannot apply delta {manifest.sequence}: {exc}; {where}") from exc
    finally:
        conn.close()
    return require_status(cache_dir)


def _apply_delta_in_transaction(
    conn: sqlite3.Connection,
    manifest: Manifest,
    chunk_paths: Iterable[tuple[str, Path]],
    local: CacheStatus,
) -> None:
    """Every chunk of the delta, then `meta`; the caller commits."""
    meta = read_meta(conn)
    records = int(meta["records"])
    if int(meta["sequence"]) != local.sequence:
        raise SequenceGapError("the cache changed during the pull")
    for kind, cpath in chunk_paths:
        records += _apply_delta_chunk(conn, kind, _read_chunk(cpath), manifest.sequence)
    _write_meta(conn, manifest, records)
