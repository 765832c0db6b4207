"""The branch's encrypted customer cache: SQLite (WAL) files of blind indexes and sealed records.

Layout of the cache directory (docs/sync.md, "Cache"):
    current                      name of the live database file (replaced atomically)
    customers-<seq>-<rand>.db    the live database (+ -wal, -shm while open)
    downloads/                   verified and partial chunks of the pull in progress
    pull.lock                    one pull at a time
This module is the read side (`CustomerCache`); `sync.cache_apply` writes snapshots and deltas,
`sync.cache_files` names the live file and reads its status.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from branch_common.identifiers import mask_name, normalise
from sync.bundle import BlindIndexer, holds_tag, record_aad
from sync.cache_apply import apply_delta, apply_snapshot
from sync.cache_files import (
    CacheStatus,
    cache_status,
    live_file,
    read_meta,
    remove_stale,
    status_from_meta,
)
from sync.errors import BundleError, CacheError
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
        path = live_file(self.cache_dir)
        if path is None:
            return
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            meta = read_meta(conn)
            status = status_from_meta(meta)
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
            self._status = status_from_meta(read_meta(self._conn))

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

    def records_after(self, after: int, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Up to `limit` decrypted records stored after row `after`, and the last row read (None:
        no more); a walk of the whole cache in small steps that leave room for lookups."""
        self._refresh()
        if self._conn is None:
            return [], None
        rows = self._conn.execute(
            "SELECT id, ref, version, hs, sealed FROM customer WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        ).fetchall()
        if not rows:
            return [], None
        return [self._decrypt(r, v, h, s) for _, r, v, h, s in rows], int(rows[-1][0])

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
