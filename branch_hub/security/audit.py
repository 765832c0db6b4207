"""Append-only, hash-chained audit log (who, which device, what, when; customers by id only).

Each entry's MAC is HMAC-SHA256(key, previous MAC || canonical JSON of the entry), so editing,
deleting or reordering an entry breaks every later link; the key lives in a 0600 file next to
the database, so someone who can write the database but not read the key cannot re-chain it.
A head file (last seq and MAC) catches a cut-off tail. SQLite triggers refuse UPDATE and DELETE.

`record` checks an entry (see `audit_fields`) and hands it to one writer thread: callers never
wait for the database, even while another process (branch-provision) holds its lock. Entries are
chained in the order handed in; each carries an `entry_id`, and one already in the chain is not
written again, so entries kept elsewhere can be handed in again after a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from branch_hub.security.audit_fields import (
    ACTIONS,
    Caller,
    Detail,
    PendingAudit,
    Scalar,
    prepare_entry,
)
from branch_hub.security.audit_writer import AuditBacklogFull, AuditNotWritten, EntryWriter
from branch_hub.security.errors import AuditError

__all__ = [
    "ACTIONS",
    "AuditBacklogFull",
    "AuditEntry",
    "AuditLog",
    "AuditNotWritten",
    "AuditSink",
    "AuditWriter",
    "NullAudit",
    "PendingAudit",
]

_GENESIS = "0" * 64
_FLUSH_BEFORE_READ_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    device_id TEXT,
    staff_id TEXT,
    customer_id TEXT,
    subject TEXT,
    detail TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
# Logs made before entry ids existed get the column (NULL for their entries) on open.
_ENTRY_ID_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS audit_entry_id ON audit(entry_id)"
_COLUMNS = "seq, at, action, device_id, staff_id, customer_id, subject, detail, mac, entry_id"


@dataclass(frozen=True)
class AuditEntry:
    """One audit record as chained."""

    seq: int
    at: str
    action: str
    device_id: str | None
    staff_id: str | None
    customer_id: str | None
    subject: str | None
    detail: dict[str, Scalar]
    mac: str
    entry_id: str | None = None

    def canonical(self) -> bytes:
        """The bytes the MAC covers: every field but the MAC, as sorted compact JSON."""
        body: dict[str, object] = {
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "device_id": self.device_id,
            "staff_id": self.staff_id,
            "customer_id": self.customer_id,
            "subject": self.subject,
            "detail": self.detail,
        }
        if self.entry_id is not None:  # entries written before entry ids keep their MACs
            body["entry_id"] = self.entry_id
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def to_json(self) -> dict[str, object]:
        """The entry as exported (JSON Lines)."""
        return json.loads(self.canonical()) | {"mac": self.mac}  # type: ignore[no-any-return]


class AuditSink(Protocol):
    """What handlers call: `hub.audit.record(action, ctx=..., customer_id=..., subject=...)`."""

    def record(
        self,
        action: str,
        *,
        ctx: Caller | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> object:
        """Check one entry and hand it in to be appended."""
        ...


class AuditWriter(AuditSink, Protocol):
    """A sink whose entries can be kept elsewhere first and handed in (again) later."""

    def prepare(
        self,
        action: str,
        *,
        ctx: Caller | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> PendingAudit:
        """Check one entry and give it its entry id and time, without handing it in."""
        ...

    def record_entry(self, entry: PendingAudit) -> str:
        """Hand in a prepared entry (again); return its entry id."""
        ...

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until every entry handed in so far is written."""
        ...

    def chained(self, entry_ids: Iterable[str]) -> set[str]:
        """Which of these entries are in the chain (kept copies of those can go)."""
        ...


class NullAudit:
    """An audit sink that keeps nothing (a hub built without security, in unit tests)."""

    def record(
        self,
        action: str,
        *,
        ctx: Caller | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> None:
        """Discard the entry."""

    # Checks the entry as the real log would, so unit tests catch bad fields.
    prepare = staticmethod(prepare_entry)

    def record_entry(self, entry: PendingAudit) -> str:
        """Discard a prepared entry."""
        return entry.entry_id

    def flush(self, timeout: float | None = 30.0) -> None:
        """Nothing is pending."""

    def chained(self, entry_ids: Iterable[str]) -> set[str]:
        """Every entry counts as done: nothing is kept."""
        return set(entry_ids)


def load_or_create_audit_key(path: Path) -> bytes:
    """Read the audit MAC key, creating a random 32-byte key (mode 0600) on first use."""
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise AuditError(f"{path}: audit key must be 32 bytes, found {len(key)}")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class AuditLog:
    """The hub's audit log: `record` hands an entry in, `verify` checks the whole chain."""

    def __init__(
        self, db_path: Path, key: bytes, *, capacity: int = 10_000, busy_timeout_s: float = 5.0
    ) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.db_path = db_path
        self.head_path = db_path.with_suffix(".head")
        self._key = key
        self._busy_timeout_s = busy_timeout_s
        self._db = sqlite3.connect(
            db_path, timeout=busy_timeout_s, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(audit)")}
        if "entry_id" not in columns:
            try:
                self._db.execute("ALTER TABLE audit ADD COLUMN entry_id TEXT")
            except sqlite3.OperationalError as exc:  # the hub and branch-provision both upgrading
                if "duplicate column" not in str(exc):
                    raise
        self._db.execute(_ENTRY_ID_INDEX)
        self._writer_db: sqlite3.Connection | None = None  # the writer thread's own
        self._writer: EntryWriter[PendingAudit] = EntryWriter(self._append, capacity=capacity)

    @classmethod
    def open(cls, folder: Path) -> AuditLog:
        """Open (or create) `audit.db` with its key `audit.key` in a folder."""
        return cls(folder / "audit.db", load_or_create_audit_key(folder / "audit.key"))

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what was handed in, stop the writer and close the database."""
        try:
            self._writer.close(timeout)
        finally:
            if self._writer_db is not None:
                self._writer_db.close()
            self._db.close()

    prepare = staticmethod(prepare_entry)

    def record(
        self,
        action: str,
        *,
        ctx: Caller | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> str:
        """Check one entry and hand it to the writer; return its entry id (never waits)."""
        entry = self.prepare(
            action,
            ctx=ctx,
            device_id=device_id,
            staff_id=staff_id,
            customer_id=customer_id,
            subject=subject,
            detail=detail,
        )
        return self.record_entry(entry)

    def record_entry(self, entry: PendingAudit) -> str:
        """Hand in a prepared entry; one whose entry id is already chained is not written again."""
        self._writer.submit(entry)
        return entry.entry_id

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until every entry handed in so far is in the chain; AuditError on timeout."""
        self._writer.flush(timeout)

    def chained(self, entry_ids: Iterable[str]) -> set[str]:
        """Which of these entries are in the chain (kept copies of those can go)."""
        wanted = list(entry_ids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT entry_id FROM audit WHERE entry_id IN ({marks})",  # noqa: S608
                chunk,
            )
            found.update(r[0] for r in rows)
        return found

    @property
    def backlog(self) -> int:
        """Entries handed in and not yet written."""
        return self._writer.backlog

    def _append(self, batch: Sequence[PendingAudit]) -> None:
        """Chain a batch in one transaction (writer thread only: it may wait for the lock)."""
        if self._writer_db is None:
            self._writer_db = sqlite3.connect(
                self.db_path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,  # closed by `close` once the thread has stopped
            )
        db = self._writer_db
        # IMMEDIATE: take SQLite's write lock before reading the tail, so the hub and
        # branch-provision (another process) never chain two entries to the same parent.
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0], row[1]) if row else (0, _GENESIS)
            written = 0
            for pending in batch:
                if db.execute(
                    "SELECT 1 FROM audit WHERE entry_id = ?", (pending.entry_id,)
                ).fetchone():
                    continue
                seq, written = seq + 1, written + 1
                prev = self._insert(db, seq, prev, pending)
            if written:
                self._write_head(seq, prev)
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT leaves the transaction open: end it so the retry can begin anew
            # (the retry writes the same entries again, so the head file matches once more).
            db.execute("ROLLBACK")
            raise

    def _insert(self, db: sqlite3.Connection, seq: int, prev: str, pending: PendingAudit) -> str:
        """Insert one entry after `prev`; return its MAC."""
        unsigned = AuditEntry(
            seq,
            pending.at,
            pending.action,
            pending.device_id,
            pending.staff_id,
            pending.customer_id,
            pending.subject,
            pending.detail,
            "",
            pending.entry_id,
        )
        mac = self._mac(prev, unsigned)
        db.execute(
            f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                seq,
                unsigned.at,
                unsigned.action,
                unsigned.device_id,
                unsigned.staff_id,
                unsigned.customer_id,
                unsigned.subject,
                json.dumps(unsigned.detail, sort_keys=True, ensure_ascii=False),
                mac,
                unsigned.entry_id,
            ),
        )
        return mac

    def _mac(self, prev: str, entry: AuditEntry) -> str:
        return hmac.new(self._key, prev.encode() + entry.canonical(), hashlib.sha256).hexdigest()

    def _write_head(self, seq: int, mac: str) -> None:
        tmp = self.head_path.with_suffix(".head.tmp")
        tmp.write_text(f"{seq} {mac}\n")
        os.replace(tmp, self.head_path)

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in storage order (rowid), as stored, after writing what was handed in."""
        self.flush(_FLUSH_BEFORE_READ_S)
        for r in self._db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY rowid"):  # noqa: S608
            yield AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9])

    def verify(self) -> int:
        """Check the chain and the head; return the number of entries or raise AuditError."""
        prev, expected = _GENESIS, 1
        for entry in self.entries():
            if entry.seq != expected:
                raise AuditError(
                    f"audit entry {expected} is missing or out of order (found seq {entry.seq})"
                )
            if not hmac.compare_digest(self._mac(prev, entry), entry.mac):
                raise AuditError(f"audit entry {entry.seq} was altered or its chain is broken")
            prev, expected = entry.mac, expected + 1
        count = expected - 1
        if self.head_path.exists():
            head_seq, _, head_mac = self.head_path.read_text().strip().partition(" ")
            if int(head_seq) != count or head_mac != prev:
                raise AuditError(
                    f"the audit log ends at entry {count} but its head records entry {head_seq}: "
                    "entries were removed from the end"
                )
        elif count:
            raise AuditError("the audit head file is missing")
        return count
