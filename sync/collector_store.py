"""The collector's store: events once per idempotency key, a day's batches and reports, reconciliation.

SQLite in WAL mode with synchronous=FULL; one lock serialises writers and readers across the
server's executor threads.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.errors import SyncError

__all__ = ["CollectorError", "CollectorStore", "Reconciliation", "canonical"]


class CollectorError(SyncError):
    """A request to the collector is refused: the status and a stable reason code say why."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    idempotency_key TEXT PRIMARY KEY,
    branch_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    business_day TEXT NOT NULL,
    envelope TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS events_day ON events (branch_id, business_day);
CREATE TABLE IF NOT EXISTS conflicts (
    idempotency_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    branch_id TEXT NOT NULL,
    business_day TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    events INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (branch_id, business_day)
);
CREATE TABLE IF NOT EXISTS batch_events (
    branch_id TEXT NOT NULL,
    business_day TEXT NOT NULL,
    line INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (branch_id, business_day, line)
);
CREATE TABLE IF NOT EXISTS batch_reports (
    branch_id TEXT NOT NULL,
    business_day TEXT NOT NULL,
    batch_sha256 TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    report TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (branch_id, business_day)
);
"""


def canonical(envelope: dict[str, Any]) -> tuple[str, str]:
    """The envelope's canonical JSON and its SHA-256 (what 'same event' means)."""
    text = json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Reconciliation:
    """What a day's batch and the live feed agree and disagree on."""

    branch_id: str
    business_day: str
    batch_received: bool
    live: int
    in_batch: int
    missing: list[str]  # in the batch, never received live
    duplicate: list[str]  # more than once in the batch
    mismatched: list[str]  # live and batch contents differ
    unexpected: list[str]  # received live for the day, absent from the batch
    redeliveries: int  # live resends absorbed by idempotency

    @property
    def ok(self) -> bool:
        """True when the batch and the live feed match exactly."""
        return self.batch_received and not (
            self.missing or self.duplicate or self.mismatched or self.unexpected
        )

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "branch_id": self.branch_id,
            "business_day": self.business_day,
            "batch_received": self.batch_received,
            "live": self.live,
            "in_batch": self.in_batch,
            "missing": self.missing,
            "duplicate": self.duplicate,
            "mismatched": self.mismatched,
            "unexpected": self.unexpected,
            "redeliveries": self.redeliveries,
            "ok": self.ok,
        }


class CollectorStore:
    """The collector's SQLite database (WAL, synchronous=FULL); thread-safe."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @staticmethod
    def _now() -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds")

    def receive(self, env: dict[str, Any], source: str = "live") -> bool:
        """Store an event once; True if new, False for a redelivery; CollectorError on conflict."""
        text, digest = canonical(env)
        key = env["idempotency_key"]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT sha256 FROM events WHERE idempotency_key = ?", (key,)
                ).fetchone()
                if row is None:
                    self._db.execute(
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                        (
                            key,
                            env["branch_id"],
                            env["kind"],
                            env["at"],
                            env["business_day"],
                            text,
                            digest,
                            source,
                            self._now(),
                        ),
                    )
                elif row[0] == digest:
                    self._db.execute(
                        "UPDATE events SET deliveries = deliveries + 1 WHERE idempotency_key = ?",
                        (key,),
                    )
                else:
                    self._db.execute(
                        "INSERT INTO conflicts VALUES (?, ?, ?)", (key, digest, self._now())
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if row is not None and row[0] != digest:
            raise CollectorError(
                409, "conflict", "this idempotency key was already used for another event"
            )
        return row is None

    def receive_batch(
        self,
        branch_id: str,
        day: str,
        sha: str,
        events: list[dict[str, Any]],
        report: tuple[str, str] | None = None,
    ) -> None:
        """Store a verified batch and its (sha256, text) report, replacing the day's upload."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if report is not None:
                    self._keep_report(branch_id, day, sha, report)
                self._db.execute(
                    "DELETE FROM batch_events WHERE branch_id = ? AND business_day = ?",
                    (branch_id, day),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?)",
                    (branch_id, day, sha, len(events), self._now()),
                )
                self._db.executemany(
                    "INSERT INTO batch_events VALUES (?, ?, ?, ?, ?)",
                    [
                        (branch_id, day, n, env["idempotency_key"], canonical(env)[1])
                        for n, env in enumerate(events)
                    ],
                )
                # An event the live feed never delivered is recovered from the signed batch.
                for env in events:
                    text, digest = canonical(env)
                    self._db.execute(
                        "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, 'batch', ?, 0)",
                        (
                            env["idempotency_key"],
                            branch_id,
                            env["kind"],
                            env["at"],
                            day,
                            text,
                            digest,
                            self._now(),
                        ),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _keep_report(
        self, branch_id: str, day: str, batch_sha: str, report: tuple[str, str]
    ) -> None:
        """Store a day's report in the open transaction; 409 if the same events had another."""
        held = self._db.execute(
            "SELECT batch_sha256, sha256 FROM batch_reports WHERE branch_id = ? AND business_day = ?",
            (branch_id, day),
        ).fetchone()
        if held is not None and held[0] == batch_sha and held[1] != report[0]:
            raise CollectorError(
                409, "report_conflict", "HQ holds another day report for this very batch"
            )
        self._db.execute(
            "INSERT OR REPLACE INTO batch_reports VALUES (?, ?, ?, ?, ?, ?)",
            (branch_id, day, batch_sha, report[0], report[1], self._now()),
        )

    def report(self, branch_id: str, day: str) -> dict[str, Any] | None:
        """The day report a branch's batch carried, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT report FROM batch_reports WHERE branch_id = ? AND business_day = ?",
                (branch_id, day),
            ).fetchone()
        if row is None:
            return None
        report: dict[str, Any] = json.loads(row[0])
        return report

    def reconcile(self, branch_id: str, day: str) -> Reconciliation:
        """Compare a day's batch with the events received live."""
        with self._lock:
            batch = self._db.execute(
                "SELECT 1 FROM batches WHERE branch_id = ? AND business_day = ?", (branch_id, day)
            ).fetchone()
            live = dict(
                self._db.execute(
                    "SELECT idempotency_key, sha256 FROM events WHERE branch_id = ?"
                    " AND business_day = ? AND source = 'live'",
                    (branch_id, day),
                ).fetchall()
            )
            redeliveries = self._db.execute(
                "SELECT COALESCE(SUM(deliveries - 1), 0) FROM events WHERE branch_id = ?"
                " AND business_day = ? AND source = 'live'",
                (branch_id, day),
            ).fetchone()[0]
            rows = self._db.execute(
                "SELECT idempotency_key, sha256 FROM batch_events WHERE branch_id = ?"
                " AND business_day = ? ORDER BY line",
                (branch_id, day),
            ).fetchall()
        seen: dict[str, str] = {}
        duplicate: list[str] = []
        for key, digest in rows:
            if key in seen:
                duplicate.append(key)
            seen[key] = digest
        return Reconciliation(
            branch_id=branch_id,
            business_day=day,
            batch_received=batch is not None,
            live=len(live),
            in_batch=len(rows),
            missing=sorted(k for k in seen if k not in live),
            duplicate=sorted(set(duplicate)),
            mismatched=sorted(k for k, d in seen.items() if k in live and live[k] != d),
            unexpected=sorted(k for k in live if k not in seen) if batch else [],
            redeliveries=int(redeliveries),
        )

    def events_of_kind(
        self, kind: str, branch_id: str | None = None, day: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored envelopes of one kind (optionally one branch's, one day's), first received first."""
        query = "SELECT envelope FROM events WHERE kind = ?"
        args: list[str] = [kind]
        if branch_id is not None:
            query, args = query + " AND branch_id = ?", [*args, branch_id]
        if day is not None:
            query, args = query + " AND business_day = ?", [*args, day]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY rowid", args).fetchall()
        return [json.loads(text) for (text,) in rows]

    def counts(self) -> dict[str, int]:
        """Totals: events stored, deliveries seen, conflicts."""
        with self._lock:
            events, deliveries = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM events"
            ).fetchone()
            conflicts = self._db.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0]
        return {"events": events, "deliveries": deliveries, "conflicts": conflicts}
