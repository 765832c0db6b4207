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
import threading
from typing import Any

from branch_hub.atrest import AtRestCipher
from branch_hub.database import HubDatabase
from branch_hub.lobby.errors import RequestConflict
from branch_hub.security.audit import AuditWriter
from branch_hub.security.audit_fields import PendingAudit

__all__ = ["AnsweredRequests", "AuditRelay", "PendingAudits"]

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


class PendingAudits:
    """Audit entries committed with their action, kept until the audit log has chained them."""

    def __init__(self, db: HubDatabase, cipher: AtRestCipher, log: AuditWriter) -> None:
        self._db = db
        self._cipher = cipher
        self.log = log
        db.create(_SCHEMA)

    def add(self, action: str, **fields: Any) -> PendingAudit:
        """Check and keep one entry (joins the action's transaction); hand it in after commit."""
        entry = self.log.prepare(action, **fields)
        body = json.dumps(entry.to_json(), separators=(",", ":")).encode()
        sealed = self._cipher.seal(body, f"audit/{entry.entry_id}".encode())
        with self._db.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_pending").fetchone()[0]
            db.execute(
                "INSERT INTO audit_pending (entry_id, seq, sealed) VALUES (?, ?, ?)",
                (entry.entry_id, seq, sealed),
            )
        return entry

    def kept(self) -> list[PendingAudit]:
        """Entries not yet known to be chained, in the order their actions committed."""
        with self._db.reading() as db:
            rows = db.execute("SELECT entry_id, sealed FROM audit_pending ORDER BY seq").fetchall()
        return [
            PendingAudit.from_json(json.loads(self._cipher.open(bytes(s), f"audit/{e}".encode())))
            for e, s in rows
        ]

    def forget(self, entry_ids: set[str]) -> None:
        """Drop the kept copies of entries the audit log now holds."""
        with self._db.transaction() as db:
            db.executemany(
                "DELETE FROM audit_pending WHERE entry_id = ?", [(e,) for e in entry_ids]
            )


class AuditRelay:
    """Hands kept entries to the audit log after a crash and drops the copies once chained.

    The log's own writer thread does the writing (never the event loop, never an action's
    transaction); this thread only waits for it and tidies up.
    """

    def __init__(self, pending: PendingAudits, interval_s: float = 5.0) -> None:
        self._pending = pending
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-relay", daemon=True)

    def start(self) -> None:
        """Hand in what a crash left kept (the log skips entries it already has), then tidy up."""
        for entry in self._pending.kept():
            self._pending.log.record_entry(entry)
        self._thread.start()

    def wake(self) -> None:
        """Tell the relay that an action handed entries in."""
        self._wake.set()

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until the log has written everything, and drop the kept copies (tests, shutdown)."""
        self._pending.log.flush(timeout_s)
        self._tidy()

    def _tidy(self) -> None:
        kept = self._pending.kept()
        if kept:
            done = self._pending.log.chained(e.entry_id for e in kept)
            if done:
                self._pending.forget(done)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval_s)
            self._wake.clear()
            try:
                self._pending.log.flush(self._interval_s)
                self._tidy()
            except Exception as exc:  # kept copies stay; the next round tries again
                log.warning("audit relay round failed: %s", type(exc).__name__)

    def close(self, timeout_s: float = 5.0) -> None:
        """Tidy up once more and stop."""
        if self._thread.is_alive():
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout_s)
            try:
                self.flush(timeout_s)
            except Exception as exc:  # what stays kept is handed in again at the next start
                log.warning("audit relay could not finish: %s", type(exc).__name__)
