"""Live push: a durable, encrypted event log with a branch-wide sequence, and its subscribers.

Every event gets the next branch-wide `seq` when it is committed to SQLite; payloads are
sealed with the hub's at-rest key so no personal data lies in plaintext on disk. A client
that reconnects with `since=N` gets every event after N from the log, then the live stream,
without gaps or duplicates. Each subscriber has a bounded queue: a slow client never delays
the others; on overflow it is told to resync and dropped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from branch_hub.atrest import AtRestCipher
from branch_hub.database import HubDatabase

__all__ = ["Broadcaster", "EventLog", "PushEvent", "Subscriber"]


@dataclass(frozen=True)
class PushEvent:
    """One event as clients see it."""

    seq: int
    kind: str
    at: str
    data: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON object sent to clients."""
        return {
            "type": "event",
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at,
            "data": self.data,
        }

    def wire_json(self) -> str:
        """The wire JSON text, serialised once however many clients receive it."""
        cached: str | None = self.__dict__.get("_wire")
        if cached is None:
            cached = json.dumps(self.to_wire(), ensure_ascii=False, separators=(",", ":"))
            object.__setattr__(self, "_wire", cached)  # a cache, not state: frozen stays frozen
        return cached


_SCHEMA = """
CREATE TABLE IF NOT EXISTS push_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS push_events_at ON push_events (at);
"""


def _stamp(at: datetime) -> str:
    """Format an instant as the log stores `at` (UTC, milliseconds), so text order is time order."""
    if at.tzinfo is None:
        raise ValueError("a cut-off time must carry its time zone")
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


class EventLog:
    """The persisted event log (a table of the hub's database); thread-safe, committed on return."""

    def __init__(self, db: HubDatabase | Path, cipher: AtRestCipher) -> None:
        self._cipher = cipher
        self._hdb = HubDatabase.of(db)
        self._own = not isinstance(db, HubDatabase)
        self._lock = self._hdb.lock
        self._db = self._hdb.conn
        self._hdb.create(_SCHEMA)

    def close(self) -> None:
        """Close the database if this log opened it."""
        if self._own:
            self._hdb.close()

    def _aad(self, seq: int, kind: str) -> bytes:
        return f"push/{seq}/{kind}".encode()

    def append(self, kind: str, data: dict[str, Any], now: datetime | None = None) -> PushEvent:
        """Persist an event and return it with its sequence number (joins an open transaction)."""
        at = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        with self._hdb.transaction() as db:
            row = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM push_events").fetchone()
            seq = int(row[0])
            db.execute(
                "INSERT INTO push_events (seq, kind, at, sealed) VALUES (?, ?, ?, ?)",
                (seq, kind, at, self._cipher.seal(body, self._aad(seq, kind))),
            )
        return PushEvent(seq, kind, at, data)

    def last_seq(self) -> int:
        """Return the highest committed sequence number (0 when empty)."""
        with self._lock:
            return int(
                self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM push_events").fetchone()[0]
            )

    def since(self, seq: int, limit: int = 1000) -> list[PushEvent]:
        """Return up to `limit` events with a sequence number greater than `seq`, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, at, sealed FROM push_events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [
            PushEvent(s, k, a, json.loads(self._cipher.open(b, self._aad(s, k))))
            for s, k, a, b in rows
        ]

    def iter_since(self, seq: int, batch: int = 1000) -> Iterator[PushEvent]:
        """Yield every event after `seq`, in batches."""
        while True:
            events = self.since(seq, batch)
            if not events:
                return
            yield from events
            seq = events[-1].seq

    # History and retention: the oldest kept event, where a day starts, pruning whole days.

    def bounds(self) -> tuple[int, int]:
        """Return the oldest kept and the highest sequence number, read together (0, 0 when empty)."""
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM push_events"
            ).fetchone()
        return int(row[0]), int(row[1])

    def first_seq(self) -> int:
        """Return the oldest sequence number still kept (0 when the log is empty)."""
        return self.bounds()[0]

    def first_seq_at(self, at: datetime) -> int | None:
        """Return the lowest sequence number logged at or after `at` (None if there is none)."""
        # Without the hint SQLite walks the sequence from the oldest event: the whole history.
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(seq) FROM push_events INDEXED BY push_events_at WHERE at >= ?",
                (_stamp(at),),
            ).fetchone()
        return None if row[0] is None else int(row[0])

    def latest(
        self, kinds: Collection[str], from_seq: int, before: int | None = None, limit: int = 64
    ) -> list[PushEvent]:
        """Return up to `limit` events of these kinds with from_seq <= seq < before, newest first."""
        upper = before if before is not None else 1 << 62
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, at, sealed FROM push_events WHERE seq >= ? AND seq < ?"
                " AND kind IN (SELECT value FROM json_each(?)) ORDER BY seq DESC LIMIT ?",
                (from_seq, upper, json.dumps(sorted(kinds)), limit),
            ).fetchall()
        return [
            PushEvent(s, k, a, json.loads(self._cipher.open(b, self._aad(s, k))))
            for s, k, a, b in rows
        ]

    def prune(
        self,
        before_at: datetime,
        batch: int = 2000,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> int:
        """Delete the events logged before `before_at`, oldest first, a batch per transaction.

        Deletes by sequence range, so what is kept stays one unbroken run of sequence numbers,
        and never the newest event: `append` numbers from the highest kept one. Stops early when
        `keep_going()` turns false. Returns how many events were deleted.
        """
        first, last = self.bounds()
        below = self.first_seq_at(before_at)
        below = last if below is None else min(below, last)
        deleted = 0
        while first < below and keep_going():
            step = self._delete_below(min(below, first + batch))
            deleted += step
            first = min(below, first + batch)
        return deleted

    def _delete_below(self, seq: int) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM push_events WHERE seq < ?", (seq,)).rowcount


@dataclass(eq=False)
class Subscriber:
    """One connected client's bounded queue of events."""

    queue: asyncio.Queue[PushEvent]
    accepts: Callable[[PushEvent], bool] = lambda _event: True
    overflowed: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class Broadcaster:
    """Fan events out to subscribers on the hub's event loop; never blocks on a slow client."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[Subscriber] = set()
        self.queue_size = queue_size

    def subscribe(self, accepts: Callable[[PushEvent], bool] | None = None) -> Subscriber:
        """Register a subscriber; events published from now on reach its queue."""
        sub = Subscriber(asyncio.Queue(self.queue_size))
        if accepts is not None:
            sub.accepts = accepts
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber."""
        self._subscribers.discard(sub)
        sub.closed.set()

    def publish(self, event: PushEvent) -> None:
        """Queue an event for every subscriber that accepts it; overflowing ones must resync."""
        for sub in list(self._subscribers):
            if sub.overflowed or not sub.accepts(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True
                sub.closed.set()

    @property
    def count(self) -> int:
        """Number of connected subscribers."""
        return len(self._subscribers)
