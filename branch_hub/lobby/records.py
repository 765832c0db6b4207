"""Records that commit with each staff action: the answer to its request id and its audit entry.

`AnsweredRequests` makes every command a device may retry idempotent: the first answer is kept
(sealed) under the device's request id for the business day, and a retry gets it back instead of
acting twice, also across a hub restart. `PendingAudit` holds an action's audit entry in the same
transaction as the action; a single relay thread then appends it to the hash-chained audit log,
so neither the event loop nor the action ever waits on the audit database's lock.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from typing import Any

from branch_hub.atrest import AtRestCipher
from branch_hub.database import HubDatabase
from branch_hub.lobby.errors import RequestConflict
from branch_hub.security.audit import AuditSink

__all__ = ["AnsweredRequests", "AuditRelay", "PendingAudit"]

log = logging.getLogger("branch_hub.lobby")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answered_requests (
    device_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    day TEXT NOT NULL,
    action TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (device_id, request_id)
);
CREATE INDEX IF NOT EXISTS answered_requests_day ON answered_requests (day);
CREATE TABLE IF NOT EXISTS audit_pending (
    entry_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
"""


class AnsweredRequests:
    """The first answer to each (device, request id), kept for the business day."""

    def __init__(self, db: HubDatabase, cipher: AtRestCipher) -> None:
        self._db = db
        self._cipher = cipher
        db.create(_SCHEMA)

    @staticmethod
    def _aad(device_id: str, request_id: str, action: str) -> bytes:
        return f"request/{device_id}/{request_id}/{action}".encode()

    def find(self, device_id: str, request_id: str | None, action: str) -> Any | None:
        """The answer already given to this request, or None (call inside the transaction)."""
        if request_id is None:
            return None
        with self._db.reading() as db:
            row = db.execute(
                "SELECT action, sealed FROM answered_requests WHERE device_id = ? AND request_id = ?",
                (device_id, request_id),
            ).fetchone()
        if row is None:
            return None
        if row[0] != action:
            raise RequestConflict(f"request id {request_id} already answered a {row[0]}")
        return json.loads(
            self._cipher.open(bytes(row[1]), self._aad(device_id, request_id, action))
        )

    def remember(
        self, device_id: str, request_id: str | None, action: str, day: str, answer: Any
    ) -> None:
        """Keep the answer (joins the action's transaction)."""
        if request_id is None:
            return
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = self._cipher.seal(body, self._aad(device_id, request_id, action))
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO answered_requests (device_id, request_id, day, action, sealed) "
                "VALUES (?, ?, ?, ?, ?)",
                (device_id, request_id, day, action, sealed),
            )

    def prune(self, before_day: str) -> int:
        """Forget answers of business days before `before_day`; return how many."""
        with self._db.transaction() as db:
            cur = db.execute("DELETE FROM answered_requests WHERE day < ?", (before_day,))
        return cur.rowcount


class PendingAudit:
    """Audit entries committed with their action, waiting for the relay to chain them."""

    def __init__(self, db: HubDatabase, cipher: AtRestCipher) -> None:
        self._db = db
        self._cipher = cipher
        db.create(_SCHEMA)

    def add(self, action: str, **fields: Any) -> str:
        """Queue one entry (joins the action's transaction); return its id."""
        entry_id = secrets.token_hex(8)
        body = json.dumps({"action": action, **fields}, separators=(",", ":")).encode()
        with self._db.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_pending").fetchone()[0]
            db.execute(
                "INSERT INTO audit_pending (entry_id, seq, sealed) VALUES (?, ?, ?)",
                (entry_id, seq, self._cipher.seal(body, f"audit/{entry_id}".encode())),
            )
        return entry_id

    def oldest(self, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """Pending entries in the order their actions committed."""
        with self._db.reading() as db:
            rows = db.execute(
                "SELECT entry_id, sealed FROM audit_pending ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [
            (eid, json.loads(self._cipher.open(bytes(s), f"audit/{eid}".encode())))
            for eid, s in rows
        ]

    def done(self, entry_id: str) -> None:
        """Drop an entry the audit log now holds."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM audit_pending WHERE entry_id = ?", (entry_id,))


class AuditRelay:
    """One thread that moves pending entries into the audit log, in commit order."""

    def __init__(self, pending: PendingAudit, audit: AuditSink) -> None:
        self._pending = pending
        self._audit = audit
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="audit-relay", daemon=True)

    def start(self) -> None:
        """Start relaying (also what a crash left pending)."""
        self._wake.set()
        self._thread.start()

    def wake(self) -> None:
        """Tell the relay that an action committed entries."""
        self._idle.clear()
        self._wake.set()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until nothing is pending (tests, shutdown); False on time-out."""
        self.wake()
        return self._idle.wait(timeout_s)

    def _run(self) -> None:
        while not self._stop:
            self._wake.wait()
            self._wake.clear()
            try:
                self._relay()
            except Exception:  # the entries stay pending; the next wake retries them
                log.exception("audit relay round failed")
                self._wake.wait(1.0)
                self._wake.set()
                continue
            if not self._wake.is_set():
                self._idle.set()

    def _relay(self) -> None:
        while batch := self._pending.oldest():
            for entry_id, fields in batch:
                self._audit.record(**fields)
                self._pending.done(entry_id)

    def close(self, timeout_s: float = 5.0) -> None:
        """Relay what is left and stop."""
        if self._thread.is_alive():
            self.flush(timeout_s)
            self._stop = True
            self._wake.set()
            self._thread.join(timeout_s)
