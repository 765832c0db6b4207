"""The hub's one database: queue, visits, notes, push events, HQ outbox and requests in one file.

Every staff action is one transaction over several of these tables, so a crash at any moment
leaves either all of its records (the note, its push event, its record for HQ, its pending audit
entry, its remembered answer) or none. One connection serves all threads: `transaction()` holds
the lock for the whole unit of work, and transactions nest (only the outermost commits).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["DatabaseError", "HubDatabase"]


def _private_file(path: Path) -> None:
    """Create the database file owner-only, whatever the umask; close up an older one.

    SQLite creates the -wal and -shm files with the database file's mode.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists():
            part.chmod(0o600)


class DatabaseError(Exception):
    """The hub's database cannot be opened, read or written."""


class HubDatabase:
    """One SQLite file in WAL mode, synchronous=FULL: committed means on disk."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        self._depth = 0
        self._on_rollback: list[Callable[[], None]] = []
        try:
            _private_file(self.path)
            self.conn = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_s
            )
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise DatabaseError(f"{self.path}: cannot switch to WAL journal (got {mode!r})")
            self.conn.execute("PRAGMA synchronous=FULL")
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(f"{self.path}: cannot open the hub database: {exc}") from exc

    @classmethod
    def of(cls, place: HubDatabase | Path | str) -> HubDatabase:
        """The shared database itself, or a private one on a file (tools and tests)."""
        return place if isinstance(place, HubDatabase) else cls(place)

    def create(self, schema: str) -> None:
        """Create tables and indexes (idempotent statements)."""
        with self.lock:
            self.conn.executescript(schema)

    @property
    def in_transaction(self) -> bool:
        """True inside a `transaction()` of the calling thread's unit of work."""
        return self._depth > 0

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run `callback` if the current outermost transaction rolls back (memory to reload)."""
        self._on_rollback.append(callback)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One unit of work; nested calls join the outer one, which alone commits."""
        with self.lock:
            if self._depth == 0:
                self.conn.execute("BEGIN IMMEDIATE")
                self._on_rollback = []
            self._depth += 1
            try:
                yield self.conn
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._rollback()
                raise
            self._depth -= 1
            if self._depth == 0:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.Error:
                    self._rollback()
                    raise

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")
        callbacks, self._on_rollback = self._on_rollback, []
        for callback in callbacks:
            callback()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads, under the lock (never inside another thread's transaction)."""
        with self.lock:
            yield self.conn

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()
