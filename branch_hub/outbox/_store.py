"""The outbox for HQ: a durable, sealed queue of events in the hub's database.

`Outbox.enqueue` commits the event (payload projected to HQ's fields and sealed at rest) before
it returns, or joins the caller's open transaction so a staff action's record for HQ commits with
the action itself. Each event carries an idempotency key; HQ deduplicates by it. Wire format:
docs/hq-interface.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from branch_hub.atrest import AtRestCipher
from branch_hub.database import HubDatabase
from branch_hub.vocabulary import NOTE_MAX_CHARS, DeclineReason, LeadOutcome

__all__ = ["FIELDS", "KINDS", "Outbox", "OutboxError", "OutboxItem"]

log = logging.getLogger("branch_hub.outbox")

# What HQ needs of each kind, and nothing more (docs/hq-interface.md, "Outcome events").
# Note text leaves the branch only with a hand-off, where it is the message to the colleague.
KINDS: dict[str, frozenset[str]] = {
    "lead_outcome": frozenset(
        {"customer_id", "lead_id", "outcome", "staff_id", "at", "reason", "follow_up_on"}
    ),
    "claim": frozenset({"customer_id", "staff_id", "at"}),
    "note": frozenset({"customer_id", "staff_id", "at"}),
    "handoff": frozenset(
        {"customer_id", "staff_id", "to_staff_id", "to_role", "note", "at", "lead_id", "location"}
    ),
    "handoff_accepted": frozenset({"customer_id", "staff_id", "by_staff_id", "at"}),
    # A catalogue product staff read, presented or compared (customer_id only with a visit).
    "product_view": frozenset(
        {"customer_id", "staff_id", "product_code", "mode", "visit_id", "at"}
    ),
    # The hub asks HQ's SMS platform to text a waiting customer: never a phone number or name.
    "sms_request": frozenset({"customer_id", "ticket", "ahead", "service", "at"}),
}
# Kinds the hub writes by itself, with no staff member behind them.
HUB_KINDS = frozenset({"sms_request"})
FIELDS = frozenset().union(*KINDS.values())
OUTCOMES = frozenset(LeadOutcome)
REASONS = frozenset(DeclineReason)
MAX_NOTE = NOTE_MAX_CHARS


class OutboxError(Exception):
    """An event cannot be queued for HQ (unknown kind, missing field, bad value)."""


@dataclass(frozen=True)
class OutboxItem:
    """One queued event."""

    row: int
    idempotency_key: str
    kind: str
    at: str
    business_day: str
    payload: dict[str, Any]
    state: str
    attempts: int

    def envelope(self, branch_id: str) -> dict[str, Any]:
        """Return the JSON object HQ receives for this event."""
        return {
            "v": 1,
            "idempotency_key": self.idempotency_key,
            "branch_id": branch_id,
            "kind": self.kind,
            "at": self.at,
            "business_day": self.business_day,
            "payload": self.payload,
        }


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    business_day TEXT NOT NULL,
    sealed BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt, row);
CREATE INDEX IF NOT EXISTS outbox_day ON outbox (business_day, row);
CREATE TABLE IF NOT EXISTS outbox_batches (
    business_day TEXT PRIMARY KEY,
    events INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
"""


def _clean_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    allowed = KINDS.get(kind)
    if allowed is None:
        raise OutboxError(f"unknown outbox kind {kind!r} (expected one of {sorted(KINDS)})")
    out = {k: v for k, v in payload.items() if k in allowed and v is not None}
    if kind in HUB_KINDS:
        return _clean_hub_payload(kind, out)
    if not isinstance(out.get("staff_id"), str) or not out["staff_id"]:
        raise OutboxError(f"a {kind} event needs the staff_id of who recorded it")
    if kind == "lead_outcome":
        if not out.get("lead_id") or not out.get("customer_id"):
            raise OutboxError("a lead_outcome event needs customer_id and lead_id")
        if out.get("outcome") not in OUTCOMES:
            raise OutboxError(f"outcome must be one of {sorted(OUTCOMES)}")
        if out.get("reason") is not None and out["reason"] not in REASONS:
            raise OutboxError(f"reason must be one of {sorted(REASONS)}")
    if kind == "handoff" and not (out.get("to_staff_id") or out.get("to_role")):
        raise OutboxError("a handoff event needs to_staff_id or to_role")
    note = out.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise OutboxError(f"a hand-off note is text of at most {MAX_NOTE} characters")
    for key, value in out.items():
        if key != "note" and not isinstance(value, str):
            raise OutboxError(f"field {key!r} must be text")
    return out


def _clean_hub_payload(kind: str, out: dict[str, Any]) -> dict[str, Any]:
    """An `sms_request`: every field present, `ahead` a count, the rest text."""
    missing = sorted(KINDS[kind] - {"at"} - set(out))
    if missing:
        raise OutboxError(f"a {kind} event needs {', '.join(missing)}")
    ahead = out["ahead"]
    if isinstance(ahead, bool) or not isinstance(ahead, int) or ahead < 0:
        raise OutboxError("ahead must be a count of people (0 or more)")
    for key, value in out.items():
        if key != "ahead" and (not isinstance(value, str) or not value):
            raise OutboxError(f"field {key!r} must be text")
    return out


class Outbox:
    """The durable queue of events for HQ (thread-safe; every write is committed on return)."""

    def __init__(
        self,
        db: HubDatabase | Path,
        cipher: AtRestCipher,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._cipher = cipher
        self._tz = ZoneInfo(timezone)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._hdb = HubDatabase.of(db)
        self._own = not isinstance(db, HubDatabase)
        self._lock = self._hdb.lock
        self._db = self._hdb.conn
        self._hdb.create(_SCHEMA)

    def close(self) -> None:
        """Close the database if this outbox opened it."""
        if self._own:
            self._hdb.close()

    @staticmethod
    def _aad(key: str, kind: str) -> bytes:
        return f"outbox/{key}/{kind}".encode()

    def business_day(self, at: datetime) -> str:
        """The branch's business day (its local date) of an instant."""
        return at.astimezone(self._tz).date().isoformat()

    def today(self) -> str:
        """Today's business day."""
        return self.business_day(self._clock())

    def enqueue(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> bool:
        """Queue an event for HQ; durable before it returns. False if the key was already queued."""
        if not idempotency_key or len(idempotency_key) > 200 or not idempotency_key.isprintable():
            raise OutboxError("an idempotency key is 1-200 printable characters")
        clean = _clean_payload(kind, payload)
        raw_at = clean.get("at")
        try:
            when = datetime.fromisoformat(raw_at) if raw_at else self._clock()
        except ValueError as exc:
            raise OutboxError(f"'at' must be an ISO 8601 time, got {raw_at!r}") from exc
        if when.tzinfo is None:
            raise OutboxError("'at' must carry a UTC offset")
        at = when.astimezone(UTC).isoformat(timespec="milliseconds")
        clean["at"] = at
        body = json.dumps(clean, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        sealed = self._cipher.seal(body.encode(), self._aad(idempotency_key, kind))
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO outbox (idempotency_key, kind, at, business_day, sealed)"
                " VALUES (?, ?, ?, ?, ?)",
                (idempotency_key, kind, at, self.business_day(when), sealed),
            )
        return cur.rowcount == 1

    def _item(self, row: tuple[Any, ...]) -> OutboxItem:
        rid, key, kind, at, day, sealed, state, attempts = row
        payload = json.loads(self._cipher.open(sealed, self._aad(key, kind)))
        return OutboxItem(rid, key, kind, at, day, payload, state, attempts)

    _COLS = "row, idempotency_key, kind, at, business_day, sealed, state, attempts"

    def due(self, now: float, limit: int = 100) -> list[OutboxItem]:
        """Pending events whose next attempt is due, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._COLS} FROM outbox WHERE state = 'pending' AND next_attempt <= ?"  # noqa: S608
                " ORDER BY row LIMIT ?",
                (now, limit),
            ).fetchall()
        return [self._item(r) for r in rows]

    def next_due(self) -> float | None:
        """The earliest next-attempt time of a pending event (None when nothing is pending)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def mark_sent(self, row: int) -> None:
        """Record HQ's 2xx for an event."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL WHERE row = ?",
                (self._clock().isoformat(timespec="milliseconds"), row),
            )

    def mark_retry(self, row: int, next_attempt: float, error: str) -> None:
        """Record a failed attempt and when to try again."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?"
                " WHERE row = ?",
                (next_attempt, error[:300], row),
            )

    def mark_rejected(self, row: int, error: str) -> None:
        """Park an event HQ refused (kept, reported, re-queued by `requeue_rejected`)."""
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET state = 'rejected', attempts = attempts + 1, last_error = ?"
                " WHERE row = ?",
                (error[:300], row),
            )

    def requeue_rejected(self) -> int:
        """Put every rejected event back in the queue; return how many."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt = 0 WHERE state = 'rejected'"
            )
        return cur.rowcount

    def due_now(self) -> int:
        """Make every pending event due at once (a restored hub: the old retry times are moot)."""
        with self._lock:
            self._db.execute("UPDATE outbox SET next_attempt = 0 WHERE state = 'pending'")
            row = self._db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
            return int(row.fetchone()[0])

    def stats(self) -> dict[str, Any]:
        """Counts by state and the time of the oldest pending event (for /health)."""
        with self._lock:
            counts = dict(
                self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
            )
            oldest = self._db.execute(
                "SELECT MIN(at) FROM outbox WHERE state = 'pending'"
            ).fetchone()[0]
            last_error = self._db.execute(
                "SELECT last_error FROM outbox WHERE state != 'sent' AND last_error IS NOT NULL"
                " ORDER BY row LIMIT 1"
            ).fetchone()
        return {
            "pending": int(counts.get("pending", 0)),
            "sent": int(counts.get("sent", 0)),
            "rejected": int(counts.get("rejected", 0)),
            "oldest_pending_at": oldest,
            "last_error": last_error[0] if last_error else None,
        }

    def last_sent_at(self) -> str | None:
        """When HQ last acknowledged an event (ISO time), None if never (or since purged)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(sent_at) FROM outbox WHERE state = 'sent'")
            value = row.fetchone()[0]
        return str(value) if value is not None else None

    def for_day(self, day: str) -> Iterator[OutboxItem]:
        """Every event of a business day (any state), in the order they were queued."""
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT {self._COLS} FROM outbox WHERE business_day = ? AND row > ?"  # noqa: S608
                    " ORDER BY row LIMIT 1000",
                    (day, last),
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield self._item(r)
            last = rows[-1][0]

    def days_awaiting_batch(self, before: str) -> list[str]:
        """Business days before `before` with events but no uploaded batch and nothing pending."""
        with self._lock:
            rows = self._db.execute(
                "SELECT business_day FROM outbox WHERE business_day < ?"
                " AND business_day NOT IN (SELECT business_day FROM outbox_batches)"
                " GROUP BY business_day HAVING SUM(state = 'pending') = 0"
                " ORDER BY business_day",
                (before,),
            ).fetchall()
        return [r[0] for r in rows]

    def mark_batch(self, day: str, events: int, sha256: str) -> None:
        """Record that a day's batch reached HQ."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO outbox_batches VALUES (?, ?, ?, ?)",
                (day, events, sha256, self._clock().isoformat(timespec="seconds")),
            )

    def purge(self, before: str) -> int:
        """Delete sent events of days before `before` whose batch HQ has; return how many."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM outbox WHERE state = 'sent' AND business_day < ?"
                " AND business_day IN (SELECT business_day FROM outbox_batches)",
                (before,),
            )
        return cur.rowcount
