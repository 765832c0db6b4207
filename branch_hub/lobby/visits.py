"""Today's visits: references only (visit, customer, ticket), sealed at rest with the hub key.

A visit row never holds a name, card number, ID number or amount: only HQ's customer id (an
opaque reference the cache can resolve), the ticket id and queue facts. Even those are sealed
(AES-GCM, the row's visit id as associated data), so the file alone says nothing about who
came. Briefs are rebuilt in memory from the customer cache on every request.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from branch_hub.atrest import AtRestCipher, AtRestError
from branch_hub.database import DatabaseError, HubDatabase

__all__ = ["Visit", "VisitError", "VisitStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS visits (
    visit_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_day ON visits (day, seq);
"""


class VisitError(Exception):
    """The visit store cannot be read or written."""


@dataclass(frozen=True)
class Visit:
    """One customer visit: references and queue facts, no personal data."""

    visit_id: str
    day: str
    ticket_id: str
    station: str
    arrived_at: str
    walk_in: bool
    customer_id: str | None
    tier: str | None
    priority: bool
    identified_by: str | None


class VisitStore:
    """Sealed visit references in SQLite (WAL); thread-safe, committed before it returns."""

    def __init__(self, db: HubDatabase | Path, cipher: AtRestCipher) -> None:
        self._cipher = cipher
        try:
            self._hdb = HubDatabase.of(db)
            self._hdb.create(_SCHEMA)
        except (sqlite3.Error, DatabaseError) as exc:
            raise VisitError(f"cannot open the visit store: {exc}") from exc
        self._own = not isinstance(db, HubDatabase)
        self._lock = self._hdb.lock
        self._db = self._hdb.conn
        self._by_ticket: dict[str, str] = {}

    def close(self) -> None:
        """Close the database if this store opened it."""
        if self._own:
            self._hdb.close()

    @staticmethod
    def _aad(visit_id: str) -> bytes:
        return f"visit/{visit_id}".encode()

    def add(self, visit: Visit) -> None:
        """Persist a visit."""
        body = json.dumps(asdict(visit), separators=(",", ":")).encode()
        with self._hdb.transaction() as db:
            try:
                db.execute(
                    "INSERT INTO visits (visit_id, day, seq, sealed) VALUES "
                    "(?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM visits), ?)",
                    (visit.visit_id, visit.day, self._cipher.seal(body, self._aad(visit.visit_id))),
                )
            except sqlite3.Error as exc:
                raise VisitError(f"cannot store visit: {exc}") from exc
            self._by_ticket[visit.ticket_id] = visit.visit_id

    def replace(self, visit: Visit) -> None:
        """Seal a visit again with new facts (a walk-in identified later); it must exist."""
        body = json.dumps(asdict(visit), separators=(",", ":")).encode()
        with self._hdb.transaction() as db:
            try:
                done = db.execute(
                    "UPDATE visits SET sealed = ? WHERE visit_id = ?",
                    (self._cipher.seal(body, self._aad(visit.visit_id)), visit.visit_id),
                ).rowcount
            except sqlite3.Error as exc:
                raise VisitError(f"cannot store visit: {exc}") from exc
            if done != 1:
                raise VisitError(f"no visit {visit.visit_id} to replace")

    def _open(self, visit_id: str, sealed: bytes) -> Visit:
        try:
            data: dict[str, Any] = json.loads(self._cipher.open(sealed, self._aad(visit_id)))
            return Visit(**data)
        except (AtRestError, ValueError, TypeError) as exc:
            raise VisitError(f"visit {visit_id} cannot be read: {exc}") from exc

    def get(self, visit_id: str) -> Visit | None:
        """Return a visit by id, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT sealed FROM visits WHERE visit_id = ?", (visit_id,)
            ).fetchone()
        return self._open(visit_id, row[0]) if row else None

    def of_day(self, day: str) -> list[Visit]:
        """Return the day's visits in arrival order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT visit_id, sealed FROM visits WHERE day = ? ORDER BY seq", (day,)
            ).fetchall()
        visits = [self._open(v, s) for v, s in rows]
        for visit in visits:
            self._by_ticket[visit.ticket_id] = visit.visit_id
        return visits

    def visit_of_ticket(self, ticket_id: str) -> str | None:
        """Return the visit id of a ticket seen by this store (today's), or None."""
        return self._by_ticket.get(ticket_id)
