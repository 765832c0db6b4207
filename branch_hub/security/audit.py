"""Append-only, hash-chained audit log (who, which device, what, when; customers by id only).

Each entry's MAC is HMAC-SHA256(key, previous MAC || canonical JSON of the entry), so editing,
deleting or reordering an entry breaks every later link; the key lives in a 0600 file next to
the database, so someone who can write the database but not read the key cannot re-chain it.
A signed head (`audit_head`) catches a cut-off tail, HQ's anchors a restored older copy. SQLite
triggers refuse UPDATE and DELETE.

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

from branch_hub.migrations import Migrations, add_column_if_missing, migrate
from branch_hub.security.audit_fields import (
    ACTIONS,
    Caller,
    Detail,
    PendingAudit,
    Scalar,
    prepare_entry,
)
from branch_hub.security.audit_head import GENESIS, Head, HeadKeeper, judge
from branch_hub.security.audit_sinks import AuditSink, AuditWriter, NullAudit
from branch_hub.security.audit_writer import AuditBacklogFull, AuditNotWritten, EntryWriter
from branch_hub.security.errors import AuditChainBroken, AuditError

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

_GENESIS = GENESIS
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
# Every log gets the entry id column by a step (NULL for entries of logs older than it).
MIGRATIONS = Migrations("audit")
MIGRATIONS(name="audit.entry_id")(add_column_if_missing("audit", "entry_id", str))
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
        self,
        db_path: Path,
        key: bytes,
        heads: HeadKeeper,
        *,
        capacity: int = 10_000,
        busy_timeout_s: float = 5.0,
    ) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.db_path = db_path
        self.heads = heads
        self.head_path = heads.path
        self._key = key
        self._busy_timeout_s = busy_timeout_s
        self._db = sqlite3.connect(
            db_path, timeout=busy_timeout_s, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        migrate(
            self._db, MIGRATIONS
        )  # the hub and branch-provision may open it at once: serialised
        self._db.execute(_ENTRY_ID_INDEX)
        self._writer_db: sqlite3.Connection | None = None  # the writer thread's own
        self._writer: EntryWriter[PendingAudit] = EntryWriter(self._append, capacity=capacity)
        heads.start(lambda: self._tail(self._db), self._mac_at)

    @classmethod
    def open(cls, folder: Path) -> AuditLog:
        """Open (or create) `audit.db` with its key `audit.key` in a folder."""
        key = load_or_create_audit_key(folder / "audit.key")
        return cls(folder / "audit.db", key, HeadKeeper.open(folder))

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
            seq, prev = self._tail(db)
            written = 0
            for pending in batch:
                if db.execute(
                    "SELECT 1 FROM audit WHERE entry_id = ?", (pending.entry_id,)
                ).fetchone():
                    continue
                seq, written = seq + 1, written + 1
                prev = self._insert(db, seq, prev, pending)
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT leaves the transaction open: end it so the retry can begin anew.
            db.execute("ROLLBACK")
            raise
        # After the commit: a crash here leaves the head behind, never ahead of, the log. A
        # retry after a failed head write finds its entries chained and writes the head again.
        self.heads.write(seq, prev)

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

    @staticmethod
    def _tail(db: sqlite3.Connection) -> tuple[int, str]:
        row = db.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, _GENESIS)

    def _mac_at(self, seq: int) -> str | None:
        if seq == 0:
            return _GENESIS
        row = self._db.execute("SELECT mac FROM audit WHERE seq = ?", (seq,)).fetchone()
        return str(row[0]) if row else None

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in storage order (rowid), as stored, after writing what was handed in."""
        self.flush(_FLUSH_BEFORE_READ_S)
        for r in self._db.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY rowid"):  # noqa: S608
            yield AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9])

    def verify(self, anchors: Sequence[Head] = ()) -> int:
        """Check the chain, its head and HQ's anchors; return the entry count or raise AuditError.

        The last anchor HQ acknowledged (kept locally) is checked with the ones given.
        """
        self.flush(_FLUSH_BEFORE_READ_S)
        head_text, kept = self.heads.snapshot(), self.heads.anchored()  # before the count
        prev, expected = _GENESIS, 1
        for entry in self.entries():
            if entry.seq != expected:
                raise AuditChainBroken(
                    f"audit entry {expected} is missing or out of order (found seq {entry.seq})",
                    f"第 {expected} 条审计记录缺失或顺序错乱（找到第 {entry.seq} 条）",
                )
            if not hmac.compare_digest(self._mac(prev, entry), entry.mac):
                raise AuditChainBroken(
                    f"audit entry {entry.seq} was altered or its chain is broken",
                    f"第 {entry.seq} 条审计记录被篡改或链条断裂",
                )
            prev, expected = entry.mac, expected + 1
        every = [*anchors, *([kept] if kept else [])]
        judge(expected - 1, self._mac_at, self.heads, head_text, every)
        return expected - 1

    def anchor(self) -> Head | None:
        """The current signed head, to send to HQ (None if the head is missing or untrusted)."""
        if not self.heads.trusted:
            return None
        try:
            return self.heads.read()
        except AuditError:
            return None

    def chain_mac_at(self, seq: int) -> str | None:
        """The MAC of the entry at `seq` (None if the log has no such entry)."""
        return self._mac_at(seq)

    def last_anchored(self) -> Head | None:
        """The last head HQ acknowledged (None if none, or if the local record is unreadable)."""
        try:
            return self.heads.anchored()
        except AuditError:
            return None

    def anchored(self, head: Head) -> None:
        """Record that HQ holds `head`: `verify` checks the log against it from now on."""
        self.heads.keep_anchor(head)
