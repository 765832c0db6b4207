"""The collector's store: events once per idempotency key, a day's batches and reports, reconciliation.

Its SQL is written once for both databases of sync.collector_db: a SQLite file (the demo's) or
PostgreSQL (many branches posting at once). Exactly-once rests on the events' primary key:
`INSERT ... ON CONFLICT DO NOTHING` stores the first delivery, and a later one only counts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.collector_db import Database, Tx, open_database
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
    {arrival}
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


_EVENT = (
    "INSERT INTO events (idempotency_key, branch_id, kind, at, business_day, envelope, sha256,"
    " source, received_at, deliveries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (idempotency_key) DO NOTHING"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _event_row(env: dict[str, Any], source: str, deliveries: int) -> tuple[Any, ...]:
    text, digest = canonical(env)
    return (
        env["idempotency_key"],
        env["branch_id"],
        env["kind"],
        env["at"],
        env["business_day"],
        text,
        digest,
        source,
        _now(),
        deliveries,
    )


class CollectorStore:
    """The collector's database: a SQLite file, a `postgresql://` URL or an open Database."""

    def __init__(self, target: Path | str | Database) -> None:
        self._owns = not isinstance(target, Database)
        self._db = target if isinstance(target, Database) else open_database(target)
        self._db.ensure(_SCHEMA)

    @property
    def database(self) -> Database:
        """The database the store lives in (the anchors share it)."""
        return self._db

    def close(self) -> None:
        """Close the database if this store opened it."""
        if self._owns:
            self._db.close()

    def receive(self, env: dict[str, Any], source: str = "live") -> bool:
        """Store an event once; True if new, False for a redelivery; CollectorError on conflict."""
        row = _event_row(env, source, 1)
        key, digest = row[0], row[6]
        # Each statement is atomic alone: the insert is the first delivery or nothing.
        with self._db.statements() as tx:
            if tx.run(_EVENT, row):
                return True
            # Stored already (by this or a concurrent delivery, whose commit ON CONFLICT awaited).
            if tx.run(
                "UPDATE events SET deliveries = deliveries + 1"
                " WHERE idempotency_key = ? AND sha256 = ?",
                (key, digest),
            ):
                return False
            tx.run(
                "INSERT INTO conflicts (idempotency_key, sha256, received_at) VALUES (?, ?, ?)",
                (key, digest, _now()),
            )
        raise CollectorError(
            409, "conflict", "this idempotency key was already used for another event"
        )

    def receive_batch(
        self,
        branch_id: str,
        day: str,
        sha: str,
        events: list[dict[str, Any]],
        report: tuple[str, str] | None = None,
    ) -> None:
        """Store a verified batch and its (sha256, text) report, replacing the day's upload."""
        with self._db.write() as tx:
            tx.lock(f"batch:{branch_id}:{day}")
            if report is not None:
                _keep_report(tx, branch_id, day, sha, report)
            tx.run(
                "DELETE FROM batch_events WHERE branch_id = ? AND business_day = ?",
                (branch_id, day),
            )
            tx.run(
                "INSERT INTO batches (branch_id, business_day, sha256, events, received_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (branch_id, business_day) DO UPDATE SET"
                " sha256 = excluded.sha256, events = excluded.events,"
                " received_at = excluded.received_at",
                (branch_id, day, sha, len(events), _now()),
            )
            tx.many(
                "INSERT INTO batch_events (branch_id, business_day, line, idempotency_key,"
                " sha256) VALUES (?, ?, ?, ?, ?)",
                [
                    (branch_id, day, n, env["idempotency_key"], canonical(env)[1])
                    for n, env in enumerate(events)
                ],
            )
            # An event the live feed never delivered is recovered from the signed batch.
            rows = [_event_row(env, "batch", 0) for env in events]
            tx.many(_EVENT, [(r[0], branch_id, r[2], r[3], day, *r[5:]) for r in rows])

    def report(self, branch_id: str, day: str) -> dict[str, Any] | None:
        """The day report a branch's batch carried, or None."""
        with self._db.read() as tx:
            row = tx.one(
                "SELECT report FROM batch_reports WHERE branch_id = ? AND business_day = ?",
                (branch_id, day),
            )
        if row is None:
            return None
        report: dict[str, Any] = json.loads(row[0])
        return report

    def reconcile(self, branch_id: str, day: str) -> Reconciliation:
        """Compare a day's batch with the events received live."""
        with self._db.read() as tx:
            batch = tx.one(
                "SELECT 1 FROM batches WHERE branch_id = ? AND business_day = ?", (branch_id, day)
            )
            live = dict(
                tx.all(
                    "SELECT idempotency_key, sha256 FROM events WHERE branch_id = ?"
                    " AND business_day = ? AND source = 'live'",
                    (branch_id, day),
                )
            )
            counted = tx.one(
                "SELECT COALESCE(SUM(deliveries - 1), 0) FROM events WHERE branch_id = ?"
                " AND business_day = ? AND source = 'live'",
                (branch_id, day),
            )
            rows = tx.all(
                "SELECT idempotency_key, sha256 FROM batch_events WHERE branch_id = ?"
                " AND business_day = ? ORDER BY line",
                (branch_id, day),
            )
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
            redeliveries=int(counted[0]) if counted else 0,
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
        with self._db.read() as tx:
            rows = tx.all(f"{query} ORDER BY {self._db.arrival}", args)
        return [json.loads(text) for (text,) in rows]

    def counts(self) -> dict[str, int]:
        """Totals: events stored, deliveries seen, conflicts."""
        with self._db.read() as tx:
            totals = tx.one("SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM events")
            conflicts = tx.one("SELECT COUNT(*) FROM conflicts")
        events, deliveries = totals or (0, 0)
        return {
            "events": int(events),
            "deliveries": int(deliveries),
            "conflicts": int(conflicts[0]) if conflicts else 0,
        }


def _keep_report(tx: Tx, branch_id: str, day: str, batch_sha: str, report: tuple[str, str]) -> None:
    """Store a day's report in the open transaction; 409 if the same events had another."""
    held = tx.one(
        "SELECT batch_sha256, sha256 FROM batch_reports WHERE branch_id = ? AND business_day = ?",
        (branch_id, day),
    )
    if held is not None and held[0] == batch_sha and held[1] != report[0]:
        raise CollectorError(
            409, "report_conflict", "HQ holds another day report for this very batch"
        )
    tx.run(
        "INSERT INTO batch_reports (branch_id, business_day, batch_sha256, sha256, report,"
        " received_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (branch_id, business_day)"
        " DO UPDATE SET batch_sha256 = excluded.batch_sha256, sha256 = excluded.sha256,"
        " report = excluded.report, received_at = excluded.received_at",
        (branch_id, day, batch_sha, report[0], report[1], _now()),
    )
