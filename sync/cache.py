"""The branch's encrypted customer cache: SQLite (WAL) files of blind indexes and sealed records.

Layout of the cache directory (docs/sync.md, "Cache"):
    current                      name of the live database file (replaced atomically)
    customers-<seq>-<rand>.db    the live database (+ -wal, -shm while open)
    downloads/                   verified and partial chunks of the pull in progress
    pull.lock                    one pull at a time
A snapshot is built in a new database file and switched in by replacing `current`; a delta is
one WAL transaction on the live file. Either way a crash leaves the previous version usable.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from branch_common.identifiers import mask_name, normalise
from sync import _faults
from sync.bundle import (
    TAG_BYTES,
    BlindIndexer,
    Manifest,
    holds_tag,
    iter_delete_chunk,
    record_aad,
    upsert_rows,
    utc_now,
)
from sync.errors import BundleError, CacheError, RollbackError, SequenceGapError, WrongBranchError
from sync.keys import GenerationKeys, load_hub_private, unwrap_keys

__all__ = [
    "CacheStatus",
    "Customer",
    "CustomerCache",
    "apply_delta",
    "apply_snapshot",
    "cache_status",
    "remove_stale",
]

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
_LOOKUP = (
    "SELECT c.ref, c.version, c.hs, c.sealed FROM blind_index b JOIN customer c ON c.id = b.customer "
    "WHERE b.h = ?"
)


@dataclass(slots=True, repr=False)
class Customer:
    """One decrypted customer record."""

    customer_id: str
    name: str
    tier: str
    version: int
    record: dict[str, Any]

    def __repr__(self) -> str:
        return f"Customer({self.customer_id!r}, name={mask_name(self.name)!r}, tier={self.tier!r})"


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


def _current(cache_dir: Path) -> Path | None:
    try:
        name = (cache_dir / "current").read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheError(f"cannot read {cache_dir / 'current'}: {exc.strerror}") from exc
    if not name.startswith("customers-") or "/" in name:
        raise CacheError(f"{cache_dir / 'current'} names an unexpected file")
    return cache_dir / name


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT k, v FROM meta").fetchall())


def _status(meta: dict[str, str]) -> CacheStatus:
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
    path = _current(cache_dir)
    if path is None:
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return _status(_meta(conn))
        finally:
            conn.close()
    except (sqlite3.Error, KeyError, ValueError) as exc:
        raise CacheError(f"cannot read the cache status from {path.name}: {exc}") from exc


class CustomerCache:
    """Read side: identify customers by card PAN, passbook account or resident ID number."""

    def __init__(
        self, cache_dir: Path, hub_key: X25519PrivateKey | Path, *, recheck_s: float = 1.0
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self._hub_key = (
            hub_key if isinstance(hub_key, X25519PrivateKey) else load_hub_private(hub_key)
        )
        self._recheck_s = recheck_s
        self._conn: sqlite3.Connection | None = None
        self._path: Path | None = None
        self._stamp: tuple[int, int] = (0, 0)
        self._next_check = 0.0
        self._keys: GenerationKeys | None = None
        self._index: BlindIndexer | None = None
        self._aes: AESGCM | None = None
        self._status: CacheStatus | None = None
        self._open()

    def _stat_current(self) -> tuple[int, int]:
        try:
            st = os.stat(self.cache_dir / "current")
        except FileNotFoundError:
            return (0, 0)
        return (st.st_ino, st.st_mtime_ns)

    def _open(self) -> None:
        self.close()
        self._stamp = self._stat_current()
        path = _current(self.cache_dir)
        if path is None:
            return
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            meta = _meta(conn)
            status = _status(meta)
            keys = unwrap_keys(
                orjson.loads(meta["wrapped_keys"]), self._hub_key, status.branch_id, status.key_id
            )
        except (sqlite3.Error, KeyError, ValueError, BundleError) as exc:
            raise CacheError(f"cannot open the customer cache {path.name}: {exc}") from exc
        self._conn, self._path, self._status = conn, path, status
        self._keys, self._aes = keys, AESGCM(keys.data_key)
        self._index = BlindIndexer(keys.index_key)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self._recheck_s
        if self._stat_current() != self._stamp:
            self._open()
        elif self._conn is not None:
            # A delta commits in place: pick up its new sequence and applied time.
            self._status = _status(_meta(self._conn))

    @property
    def status(self) -> CacheStatus | None:
        """The applied version, or None before the first pull."""
        self._refresh()
        return self._status

    @property
    def sequence(self) -> int:
        """The applied bundle sequence (0 before the first pull)."""
        status = self.status
        return status.sequence if status else 0

    @property
    def applied_at(self) -> float | None:
        """Unix time the current content was applied."""
        status = self.status
        return status.applied_at if status else None

    @property
    def age_s(self) -> float | None:
        """Seconds since the current content was applied."""
        status = self.status
        return status.age_s if status else None

    def identify(self, kind: str, value: str) -> Customer | None:
        """Find the customer holding an identifier ('pan', 'passbook', 'id_number'), or None."""
        norm = normalise(kind, value)
        self._refresh()
        if self._conn is None or self._index is None:
            return None
        try:
            tag = self._index(kind, norm)
            rows = self._conn.execute(_LOOKUP, (tag,)).fetchall()
        except sqlite3.Error:
            self._open()  # the file was replaced under us (key rotation): reopen once
            if self._conn is None or self._index is None:
                return None
            tag = self._index(kind, norm)
            rows = self._conn.execute(_LOOKUP, (tag,)).fetchall()
        for ref, version, hs, sealed in rows:
            # `hs` is authenticated as associated data: if it lists the tag we looked up, the
            # index really points at this customer (a tampered index row or a truncated-HMAC
            # collision cannot hand back someone else).
            if not holds_tag(hs, tag):
                continue
            customer = self._decrypt(ref, version, hs, sealed)
            return Customer(
                customer["customer_id"],
                customer.get("name", ""),
                customer.get("tier", ""),
                version,
                customer,
            )
        return None

    def by_customer_id(self, customer_id: str) -> Customer | None:
        """Find a customer by HQ's customer id (its blind reference), or None."""
        self._refresh()
        if self._conn is None or self._index is None:
            return None
        ref = self._index.ref(customer_id)
        try:
            row = self._conn.execute(
                "SELECT version, hs, sealed FROM customer WHERE ref = ?", (ref,)
            ).fetchone()
        except sqlite3.Error:
            self._open()  # replaced under us (key rotation): reopen once
            if self._conn is None or self._index is None:
                return None
            ref = self._index.ref(customer_id)
            row = self._conn.execute(
                "SELECT version, hs, sealed FROM customer WHERE ref = ?", (ref,)
            ).fetchone()
        if row is None:
            return None
        version, hs, sealed = row
        customer = self._decrypt(ref, version, hs, sealed)
        return Customer(
            customer["customer_id"],
            customer.get("name", ""),
            customer.get("tier", ""),
            version,
            customer,
        )

    def _decrypt(self, ref: bytes, version: int, hs: bytes, sealed: bytes) -> dict[str, Any]:
        if self._aes is None:
            raise CacheError("the cache is closed")
        try:
            plain = self._aes.decrypt(sealed[:12], sealed[12:], record_aad(ref, version, hs))
        except InvalidTag as exc:
            raise CacheError(
                "a cached record failed authentication (the cache was altered)"
            ) from exc
        record: dict[str, Any] = orjson.loads(plain)
        return record

    def close(self) -> None:
        """Close the database connection and forget the keys."""
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._keys = self._aes = self._index = None

    def __enter__(self) -> CustomerCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- apply (used by the puller)


def _check_manifest(manifest: Manifest, branch_id: str, local: CacheStatus | None) -> None:
    if manifest.branch_id != branch_id:
        raise WrongBranchError(
            f"the bundle is for branch {manifest.branch_id!r}, this hub is branch {branch_id!r}"
        )
    if local is not None and manifest.sequence <= local.sequence:
        raise RollbackError(
            f"bundle sequence {manifest.sequence} is not newer than the cache's {local.sequence} (refusing to go back)"
        )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_current(cache_dir: Path, name: str) -> None:
    tmp = cache_dir / ".current.tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, cache_dir / "current")
    _fsync(cache_dir)


def _db_files(path: Path) -> list[Path]:
    return [
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        path.with_name(path.name + "-journal"),
    ]


def _shred(path: Path) -> None:
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
    live = _current(cache_dir)
    for path in cache_dir.glob("customers-*"):
        base = path.name.split(".db")[0] + ".db"
        if live is None or base != live.name:
            path.unlink(missing_ok=True)


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


def _read_chunk(path: Path) -> bytes:
    return path.read_bytes()


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
    records = 0
    try:
        db = sqlite_utils.Database(path)
        os.chmod(path, 0o600)  # -wal and -shm inherit the database file's mode
        conn: sqlite3.Connection = db.conn
        try:
            # A half-built file is discarded after a crash, so it needs no journal.
            conn.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
                "PRAGMA cache_size=-16384;"
            )
            conn.executescript(_DDL)
            conn.execute("BEGIN")
            most = 0
            for cpath in chunk_paths:
                rows, chunk_most = upsert_rows(_read_chunk(cpath), records + 1, manifest.sequence)
                conn.executemany("INSERT INTO customer VALUES (?,?,?,?,?)", rows)
                records += len(rows)
                most = max(most, chunk_most)
                del rows
                _faults.point("snapshot:chunk")
            if records != sum(c["records"] for c in manifest.chunks):
                raise BundleError("the chunks do not hold the number of records the manifest lists")
            for statement in _INDEXES.strip().split(";"):
                if statement.strip():
                    conn.execute(statement, {"most": max(most, 1)} if ":most" in statement else ())
            conn.executemany("INSERT INTO meta VALUES (?, ?)", _meta_rows(manifest, records))
            conn.execute("COMMIT")
            conn.execute("PRAGMA locking_mode=NORMAL")
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            db.close()
        _fsync(path)
        _faults.point("snapshot:built")
    except sqlite3.IntegrityError as exc:
        for p in _db_files(path):
            p.unlink(missing_ok=True)
        raise BundleError(
            f"snapshot {manifest.sequence} holds a customer twice ({exc}); {where}"
        ) from exc
    except (sqlite3.Error, OSError) as exc:
        for p in _db_files(path):
            with contextlib.suppress(OSError):
                p.unlink(missing_ok=True)
        raise CacheError(f"cannot apply snapshot {manifest.sequence}: {exc}; {where}") from exc
    except BaseException:
        for p in _db_files(path):
            with contextlib.suppress(OSError):
                p.unlink(missing_ok=True)
        raise
    old = _current(cache_dir)
    try:
        _write_current(cache_dir, name)  # the switch: one rename
    except OSError as exc:
        # Before the rename the old version is live; a new file left behind is removed by the
        # next pull (remove_stale).
        raise CacheError(f"cannot switch to snapshot {manifest.sequence}: {exc}; {where}") from exc
    _faults.point("snapshot:switched")
    if old is not None:
        rotated = local is not None and local.key_id != manifest.key_id
        for p in _db_files(old):
            # Key rotation: the old file holds the only local copy of the old wrapped keys.
            if rotated:
                _shred(p)
            else:
                p.unlink(missing_ok=True)
    return _require_status(cache_dir)


def _require_status(cache_dir: Path) -> CacheStatus:
    status = cache_status(cache_dir)
    if status is None:
        raise CacheError(f"{cache_dir} has no applied cache")
    return status


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
    rows, _ = upsert_rows(data, 0, version)
    found = _existing(conn, [r[1] for r in rows])
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM customer").fetchone()
    updates: list[tuple[int, bytes, bytes, int]] = []
    inserts: list[tuple[int, bytes, int, bytes, bytes]] = []
    drop: list[tuple[bytes, int]] = []
    add: list[tuple[bytes, int]] = []
    for _, ref, _, hs, sealed in rows:
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
    path = _current(cache_dir) or cache_dir / "missing"
    where = f"the cache stays at sequence {local.sequence}"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA cache_size=-16384")
        conn.execute("BEGIN IMMEDIATE")
        try:
            meta = _meta(conn)
            records = int(meta["records"])
            if int(meta["sequence"]) != local.sequence:
                raise SequenceGapError("the cache changed during the pull")  # noqa: TRY301
            for kind, cpath in chunk_paths:
                data = _read_chunk(cpath)
                if kind == "delete":
                    records -= _apply_deletes(conn, list(iter_delete_chunk(data)))
                else:
                    records += _apply_upserts(conn, data, manifest.sequence)
                _faults.point("delta:chunk")
            conn.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", _meta_rows(manifest, records)
            )
            _faults.point("delta:commit")
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
    return _require_status(cache_dir)
