"""SQLite persistence of the queue: an event log with a branch-wide `seq`, committed before ack.

Each operation runs in one `BEGIN IMMEDIATE` transaction: catch up with events other
connections committed since we last looked, run the pure engine operation, append its events
(the `seq` column is AUTOINCREMENT, so it only ever grows), update the ticket, numbering and
service-time tables, and COMMIT. Only then does the call return. On open, the latest business
day's events are replayed into a fresh engine; service-time statistics come from the table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeVar

from branch_hub.config import BranchConfig, QueuePolicy
from branch_hub.database import DatabaseError, HubDatabase
from branch_hub.queue._engine import Clock, QueueEngine
from branch_hub.queue._errors import QueueError, StoreError
from branch_hub.queue._model import Actor, Dashboard, Outcome, QueueEvent, Ticket, WaitEstimate
from branch_hub.queue._tables import (
    SCHEMA,
    SCHEMA_VERSION,
    forget_tiers,
    replay_latest_day,
    stored_ticket,
    write_events,
)

__all__ = ["SCHEMA_VERSION", "QueueStore"]

Synchronous = Literal["NORMAL", "FULL"]
_T = TypeVar("_T")


class QueueStore:
    """The queue engine persisted in a SQLite WAL database; safe to share between threads."""

    def __init__(
        self,
        path: HubDatabase | str | Path,
        config: BranchConfig,
        clock: Clock,
        *,
        policy: QueuePolicy | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout_s: float = 30.0,
    ) -> None:
        self._config = config
        self._clock = clock
        self._policy = policy
        self._own = not isinstance(path, HubDatabase)
        try:
            self._hdb = HubDatabase.of(path)
            self._hdb.create(SCHEMA)
        except (sqlite3.Error, DatabaseError) as exc:
            raise StoreError(f"{path}: cannot open queue database: {exc}") from exc
        self._lock = self._hdb.lock
        self._path = self._hdb.path
        self._conn = self._hdb.conn
        if synchronous != "FULL":
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        self._init_meta()
        self._engine = QueueEngine(config, clock, policy=policy)
        self._seq = 0
        self._stale = True
        self._load()

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the database connection if this store opened it."""
        if self._own:
            self._hdb.close()

    def __enter__(self) -> QueueStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def path(self) -> Path:
        """Return the database file."""
        return self._path

    @property
    def last_seq(self) -> int:
        """Return the highest event seq this store has seen."""
        return self._seq

    @property
    def engine(self) -> QueueEngine:
        """Return the in-memory engine (for read-only use; call `refresh()` first)."""
        return self._engine

    # ----------------------------------------------------------------- operations

    def issue(
        self,
        services: str | Sequence[str],
        actor: Actor,
        *,
        tier: str | None = None,
        appointment: bool = False,
        visit_ref: str | None = None,
    ) -> Outcome:
        """Issue a ticket (committed before it returns)."""
        return self._transact(
            lambda e: e.issue(
                services, actor, tier=tier, appointment=appointment, visit_ref=visit_ref
            )
        )

    def identify(self, ticket_id: str, actor: Actor, *, tier: str | None) -> Outcome:
        """Give a waiting ticket its identified customer's class (committed before it returns)."""
        return self._transact(lambda e: e.identify(ticket_id, actor, tier=tier))

    def call_next(self, counter_id: str, actor: Actor) -> Outcome:
        """Call the next ticket to a counter (committed before it returns)."""
        return self._transact(lambda e: e.call_next(counter_id, actor))

    def recall(self, ticket_id: str, actor: Actor, counter_id: str | None = None) -> Outcome:
        """Recall a called ticket or a no-show within its grace period."""
        return self._transact(lambda e: e.recall(ticket_id, actor, counter_id))

    def no_show(self, ticket_id: str, actor: Actor) -> Outcome:
        """Mark a called ticket as a no-show."""
        return self._transact(lambda e: e.no_show(ticket_id, actor))

    def transfer(
        self,
        ticket_id: str,
        actor: Actor,
        *,
        to_service: str | None = None,
        to_counter: str | None = None,
    ) -> Outcome:
        """Transfer a ticket to another service and/or counter."""
        return self._transact(
            lambda e: e.transfer(ticket_id, actor, to_service=to_service, to_counter=to_counter)
        )

    def park(self, ticket_id: str, actor: Actor) -> Outcome:
        """Park a called ticket."""
        return self._transact(lambda e: e.park(ticket_id, actor))

    def resume(self, ticket_id: str, counter_id: str, actor: Actor) -> Outcome:
        """Resume a parked ticket at a counter."""
        return self._transact(lambda e: e.resume(ticket_id, counter_id, actor))

    def finish(self, ticket_id: str, actor: Actor) -> Outcome:
        """Finish serving a ticket."""
        return self._transact(lambda e: e.finish(ticket_id, actor))

    def cancel(self, ticket_id: str, actor: Actor, reason: str = "customer_left") -> Outcome:
        """Cancel a ticket."""
        return self._transact(lambda e: e.cancel(ticket_id, actor, reason))

    def open_counter(self, counter_id: str, actor: Actor) -> Outcome:
        """Open a counter."""
        return self._transact(lambda e: e.open_counter(counter_id, actor))

    def close_counter(self, counter_id: str, actor: Actor) -> Outcome:
        """Close a counter."""
        return self._transact(lambda e: e.close_counter(counter_id, actor))

    def close_day(self, actor: Actor | None) -> Outcome:
        """Drain the business day."""
        return self._transact(lambda e: e.close_day(actor))

    def tick(self) -> Outcome:
        """Roll the business day over if the clock says so."""
        return self._transact(lambda e: e.tick())

    # ----------------------------------------------------------------- queries

    def refresh(self) -> None:
        """Catch up with events other connections have committed."""
        with self._lock:
            if self._stale:
                self._load()
                return
            try:
                with self._hdb.transaction():
                    self._catch_up()
            except sqlite3.Error as exc:
                self._stale = True
                raise StoreError(f"{self._path}: cannot read events: {exc}") from exc
            except QueueError:
                self._stale = True  # a bad record was half applied: rebuild before the next use
                raise

    def ticket(self, ticket_id: str) -> Ticket:
        """Return a ticket of the current business day."""
        return self._read(lambda e: e.ticket(ticket_id))

    def tickets(self) -> list[Ticket]:
        """Return every ticket of the current business day."""
        return self._read(lambda e: e.tickets())

    def waiting(self, service: str | None = None) -> list[Ticket]:
        """Return waiting tickets in queue-entry order."""
        return self._read(lambda e: e.waiting(service))

    def estimate(self, ticket_id: str) -> WaitEstimate:
        """Estimate a waiting ticket's wait."""
        return self._read(lambda e: e.estimate(ticket_id))

    def dashboard(self) -> Dashboard:
        """Return the lobby manager's dashboard."""
        return self._read(lambda e: e.dashboard())

    def events_since(self, seq: int, limit: int = 1000) -> list[QueueEvent]:
        """Return committed events with a seq greater than `seq`, oldest first."""
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                    (seq, limit),
                ).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self._path}: cannot read events: {exc}") from exc
        return [QueueEvent.from_json(body, seq=s) for s, body in rows]

    def stored_ticket(self, ticket_id: str) -> Ticket | None:
        """Return a ticket as stored in the tickets table (any day), or None."""
        with self._lock:
            try:
                return stored_ticket(self._conn, ticket_id)
            except sqlite3.Error as exc:
                raise StoreError(f"{self._path}: cannot read tickets: {exc}") from exc

    # ----------------------------------------------------------------- internals

    def _init_meta(self) -> None:
        try:
            # Overwrite, not just free, the pages a tier scrub rewrites.
            secure = self._conn.execute("PRAGMA secure_delete").fetchone()[0]
            self._conn.execute("PRAGMA secure_delete=ON")
            with self._hdb.transaction() as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                    )
                forget_tiers(db)
            self._conn.execute(f"PRAGMA secure_delete={int(secure)}")
        except sqlite3.Error as exc:
            raise StoreError(f"{self._path}: cannot initialise queue database: {exc}") from exc
        if row is not None and row[0] != str(SCHEMA_VERSION):
            raise StoreError(f"{self._path}: queue schema {row[0]} is not {SCHEMA_VERSION}")

    def _load(self) -> None:
        """Rebuild the engine from the latest business day's events."""
        engine = QueueEngine(self._config, self._clock, policy=self._policy)
        try:
            with self._hdb.transaction():
                seq = replay_latest_day(self._conn, self._config, engine)
        except sqlite3.Error as exc:
            raise StoreError(f"{self._path}: cannot load the queue: {exc}") from exc
        self._engine = engine
        self._seq = seq
        self._stale = False

    def _catch_up(self) -> None:
        rows = self._conn.execute(
            "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq", (self._seq,)
        ).fetchall()
        for row_seq, body in rows:
            self._engine.apply(QueueEvent.from_json(body, seq=row_seq))
            self._seq = row_seq

    def _read(self, query: Callable[[QueueEngine], _T]) -> _T:
        with self._lock:
            self.refresh()
            return query(self._engine)

    def _transact(self, operation: Callable[[QueueEngine], Outcome]) -> Outcome:
        """Apply an operation and commit its events (joining the caller's open transaction)."""
        with self._lock:
            if self._stale:
                self._load()
            clean_failure = False
            try:
                with self._hdb.transaction():
                    # An outer transaction that rolls back later must not leave the engine ahead.
                    self._hdb.on_rollback(self._mark_stale)
                    self._catch_up()
                    before = self._engine.mutations
                    try:
                        outcome = operation(self._engine)
                    except QueueError:
                        clean_failure = self._engine.mutations == before
                        raise
                    events = write_events(self._conn, outcome.events)
            except BaseException as exc:
                if not clean_failure:
                    self._stale = True
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"{self._path}: cannot commit: {exc}") from exc
                raise
            if events:
                self._seq = events[-1].seq or self._seq
            ticket = outcome.ticket
            return Outcome(ticket, events)

    def _mark_stale(self) -> None:
        self._stale = True
