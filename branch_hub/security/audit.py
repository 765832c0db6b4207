"""Append-only, hash-chained audit log (who, which device, what, when; customers by id only).

Each entry's MAC is HMAC-SHA256(key, previous MAC || canonical JSON of the entry), so editing,
deleting or reordering an entry breaks every later link; the key lives in a 0600 file next to
the database, so someone who can write the database but not read the key cannot re-chain it.
A head file (last seq and MAC) catches a cut-off tail. SQLite triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from branch_common.identifiers import is_valid_id_number, luhn_valid
from branch_hub.security.errors import AuditError

if TYPE_CHECKING:
    from branch_hub.context import RequestContext

__all__ = ["ACTIONS", "AuditEntry", "AuditLog", "AuditSink", "NullAudit"]

# What gets audited. Handlers pass one of these as `action`.
ACTIONS = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "enrolment",
        "enrolment_code",
        "enrolment_failed",
        "revocation",
        "brief_view",
        "claim",
        "note",
        "handoff",
        "outcome",
        "export",
        "config_change",
        "staff_change",
        "server_cert_rotation",
    }
)
_GENESIS = "0" * 64
_ID = re.compile(r"^[A-Za-z0-9_.:@/-]{1,128}$")
Detail = Mapping[str, str | int | float | bool | None]

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


@dataclass(frozen=True)
class AuditEntry:
    """One audit record."""

    seq: int
    at: str
    action: str
    device_id: str | None
    staff_id: str | None
    customer_id: str | None
    subject: str | None
    detail: dict[str, str | int | float | bool | None]
    mac: str

    def canonical(self) -> bytes:
        """The bytes the MAC covers: every field but the MAC, as sorted compact JSON."""
        body = {
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "device_id": self.device_id,
            "staff_id": self.staff_id,
            "customer_id": self.customer_id,
            "subject": self.subject,
            "detail": self.detail,
        }
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
        ctx: RequestContext | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> object:
        """Append one entry."""
        ...


class NullAudit:
    """An audit sink that keeps nothing (a hub built without security, in unit tests)."""

    def record(
        self,
        action: str,
        *,
        ctx: RequestContext | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> None:
        """Discard the entry."""


_DIGIT_RUN = re.compile(r"\d{13,}[Xx]?")


def _looks_like_identifier(value: str) -> bool:
    """True when a value holds a Luhn-valid card number or a valid resident ID number."""
    for run in _DIGIT_RUN.findall(value):
        digits = run.rstrip("Xx")
        if is_valid_id_number(run.upper()) or (len(digits) <= 19 and luhn_valid(digits)):
            return True
    return False


def _check_id(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    # Ids only: free text here could carry a name or a card number into the log.
    if not _ID.fullmatch(value):
        raise ValueError(f"audit {name} must be an id (letters, digits, _.:@/-)")
    if _looks_like_identifier(value):
        raise ValueError(f"audit {name} must be an id, not a card or ID number")
    return value


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
    """The hub's audit log: `record` appends, `verify` checks the whole chain."""

    def __init__(self, db_path: Path, key: bytes) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.db_path = db_path
        self.head_path = db_path.with_suffix(".head")
        self._key = key
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path) -> AuditLog:
        """Open (or create) `audit.db` with its key `audit.key` in a folder."""
        return cls(folder / "audit.db", load_or_create_audit_key(folder / "audit.key"))

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def record(
        self,
        action: str,
        *,
        ctx: RequestContext | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> AuditEntry:
        """Append one entry; `ctx` fills device and staff when they are not given."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        if ctx is not None:
            device_id = device_id or ctx.device_id
            staff_id = staff_id or ctx.staff_id
        clean = dict(detail or {})
        for k, v in clean.items():
            if not isinstance(v, str | int | float | bool | type(None)):
                raise TypeError(f"audit detail {k!r} must be a scalar")
        _check_id("device_id", device_id)
        _check_id("staff_id", staff_id)
        _check_id("customer_id", customer_id)
        _check_id("subject", subject)
        with self._lock:
            # IMMEDIATE: take SQLite's write lock before reading the tail, so the hub and
            # branch-provision (another process) never chain two entries to the same parent.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (row[0] + 1, row[1]) if row else (1, _GENESIS)
                unsigned = AuditEntry(
                    seq,
                    dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                    action,
                    _check_id("device_id", device_id),
                    _check_id("staff_id", staff_id),
                    _check_id("customer_id", customer_id),
                    _check_id("subject", subject),
                    clean,
                    "",
                )
                mac = self._mac(prev, unsigned)
                entry = AuditEntry(**{**unsigned.__dict__, "mac": mac})
                self._db.execute(
                    "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.seq,
                        entry.at,
                        entry.action,
                        entry.device_id,
                        entry.staff_id,
                        entry.customer_id,
                        entry.subject,
                        json.dumps(entry.detail, sort_keys=True, ensure_ascii=False),
                        mac,
                    ),
                )
                self._write_head(seq, mac)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return entry

    def _mac(self, prev: str, entry: AuditEntry) -> str:
        return hmac.new(self._key, prev.encode() + entry.canonical(), hashlib.sha256).hexdigest()

    def _write_head(self, seq: int, mac: str) -> None:
        tmp = self.head_path.with_suffix(".head.tmp")
        tmp.write_text(f"{seq} {mac}\n")
        os.replace(tmp, self.head_path)

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in storage order (rowid), as stored."""
        cur = self._db.execute(
            "SELECT seq, at, action, device_id, staff_id, customer_id, subject, detail, mac "
            "FROM audit ORDER BY rowid"
        )
        for r in cur:
            yield AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8])

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
