"""Visit notes, claims, hand-offs and lead outcomes in SQLite WAL, sealed at rest.

Every row that names a customer or holds free text is sealed with the hub's AtRestCipher
(AES-256-GCM); its associated data binds it to its row (id, kind, visit, day) so a sealed body
cannot be moved to another row. Customer ids are looked up through a keyed blind index
(HMAC-SHA256 with a random key kept sealed in the database itself). Every write is committed
with synchronous=FULL before the method returns.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from branch_hub.atrest import AtRestCipher, AtRestError
from branch_hub.briefs._entries import (
    MAX_TEXT,
    check_id,
    check_role,
    check_text,
    open_entry,
    seal_entry,
)
from branch_hub.briefs._errors import (
    AlreadyClaimed,
    InvalidEntry,
    NotClaimHolder,
    NotesStoreError,
)
from branch_hub.briefs._leads import check_outcome_detail
from branch_hub.briefs._model import Claim, Note
from branch_hub.database import DatabaseError, HubDatabase
from branch_hub.ids import new_token_id
from branch_hub.vocabulary import RECORDABLE_OUTCOMES

__all__ = ["MAX_TEXT", "VisitNotes"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notes_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL UNIQUE,
    day TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    customer_tag BLOB,
    sealed BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_visit ON entries (visit_id, day);
CREATE INDEX IF NOT EXISTS entries_customer ON entries (customer_tag, day);
CREATE TABLE IF NOT EXISTS claims (
    visit_id TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


class VisitNotes:
    """The store of today's notes, claims, hand-offs and lead outcomes; thread-safe."""

    def __init__(
        self, db: HubDatabase | Path | str, cipher: AtRestCipher, *, timezone: str = "Asia/Shanghai"
    ) -> None:
        self._cipher = cipher
        self._zone = ZoneInfo(timezone)
        try:
            self._hdb = HubDatabase.of(db)
            self._hdb.create(_SCHEMA)
            self._index_key = self._load_index_key()
        except (sqlite3.Error, DatabaseError) as exc:
            raise NotesStoreError(f"cannot open the notes database: {exc}") from exc
        self._own = not isinstance(db, HubDatabase)
        self._lock = self._hdb.lock
        self._db = self._hdb.conn

    def _load_index_key(self) -> bytes:
        aad = b"briefs/index-key"
        with self._hdb.transaction() as db:
            row = db.execute("SELECT value FROM notes_meta WHERE name = 'index_key'").fetchone()
            if row is None:
                key = os.urandom(32)
                db.execute(
                    "INSERT INTO notes_meta (name, value) VALUES ('index_key', ?)",
                    (self._cipher.seal(key, aad),),
                )
            else:
                try:
                    key = self._cipher.open(bytes(row[0]), aad)
                except AtRestError as exc:
                    raise NotesStoreError(
                        "the notes database was sealed with another at-rest key"
                    ) from exc
        return key

    def close(self) -> None:
        """Close the database if this store opened it."""
        if self._own:
            self._hdb.close()

    def __enter__(self) -> VisitNotes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers

    def _tag(self, customer_id: str) -> bytes:
        return hmac.new(self._index_key, customer_id.encode(), hashlib.sha256).digest()[:16]

    def _now_and_day(self, at: datetime | None, day: date | None) -> tuple[datetime, date]:
        now = at or datetime.now(UTC)
        if now.tzinfo is None:
            raise InvalidEntry("timestamps must be timezone-aware")
        return now, day or now.astimezone(self._zone).date()

    def _txn(self, body: Callable[[], T]) -> T:
        """Run body in one transaction (joining an open one), committed on return."""
        try:
            with self._hdb.transaction():
                return body()
        except sqlite3.Error as exc:
            raise NotesStoreError(f"cannot write to the notes database: {exc}") from exc

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        def body() -> None:
            for sql, params in statements:
                self._db.execute(sql, params)

        self._txn(body)

    def _insert(self, note: Note, day: date) -> tuple[str, tuple[Any, ...]]:
        tag = self._tag(note.customer_id) if note.customer_id else None
        return seal_entry(self._cipher, note, day, tag)

    def _holder(self, visit_id: str) -> Claim | None:
        row = self._db.execute(
            "SELECT staff_id, role, at FROM claims WHERE visit_id = ?", (visit_id,)
        ).fetchone()
        if row is None:
            return None
        return Claim(visit_id, row[0], row[1], datetime.fromisoformat(row[2]))

    # ------------------------------------------------------------------ writes

    def add_note(
        self,
        visit_id: str,
        *,
        by: str,
        role: str,
        text: str,
        customer_id: str | None = None,
        for_role: str | None = None,
        at: datetime | None = None,
        day: date | None = None,
    ) -> Note:
        """Add a colleague's note about a visit (optionally only for one role); durable on return."""
        now, business_day = self._now_and_day(at, day)
        note = Note(
            note_id=new_token_id(32),
            visit_id=check_id("visit_id", visit_id),
            kind="note",
            by=check_id("staff_id", by),
            role=check_role("role", role),
            at=now,
            text=check_text(text, required=True),
            customer_id=None if customer_id is None else check_id("customer_id", customer_id),
            for_role=None if for_role is None else check_role("for_role", for_role),
        )
        self._write([self._insert(note, business_day)])
        return note

    def claim(
        self,
        visit_id: str,
        *,
        staff_id: str,
        role: str,
        at: datetime | None = None,
        customer_id: str | None = None,
    ) -> Claim:
        """Claim a visit for a staff member; idempotent for the holder, AlreadyClaimed for others.

        A new claim is also kept as a `claim` entry, so the timeline shows who took the customer
        even after a hand-off moved the claim on.
        """
        check_id("visit_id", visit_id)
        check_id("staff_id", staff_id)
        check_role("role", role)
        now, business_day = self._now_and_day(at, None)
        entry = Note(new_token_id(32), visit_id, "claim", staff_id, role, now, "", customer_id)

        def body() -> Claim:
            holder = self._holder(visit_id)
            if holder is None:
                self._db.execute(
                    "INSERT INTO claims (visit_id, staff_id, role, at) VALUES (?, ?, ?, ?)",
                    (visit_id, staff_id, role, now.isoformat(timespec="microseconds")),
                )
                self._db.execute(*self._insert(entry, business_day))
                holder = Claim(visit_id, staff_id, role, now)
            return holder

        holder = self._txn(body)
        if holder.staff_id != staff_id:
            raise AlreadyClaimed(visit_id, holder.staff_id)
        return holder

    def release(self, visit_id: str, *, staff_id: str, force: bool = False) -> None:
        """Release a claim; only its holder may, unless force (a supervisor's decision)."""
        check_id("visit_id", visit_id)

        def body() -> None:
            holder = self._holder(visit_id)
            if holder is None or (holder.staff_id != staff_id and not force):
                raise NotClaimHolder(visit_id, staff_id, holder.staff_id if holder else None)
            self._db.execute("DELETE FROM claims WHERE visit_id = ?", (visit_id,))

        self._txn(body)

    def handoff(
        self,
        visit_id: str,
        *,
        by: str,
        role: str,
        to_staff_id: str | None = None,
        to_role: str | None = None,
        to_staff_role: str | None = None,
        note: str | None = None,
        customer_id: str | None = None,
        force: bool = False,
        at: datetime | None = None,
        day: date | None = None,
    ) -> Note:
        """Hand a visit to a colleague (who then holds the claim) or to a role (claim released)."""
        if (to_staff_id is None) == (to_role is None):
            raise InvalidEntry("a hand-off names exactly one of to_staff_id or to_role")
        now, business_day = self._now_and_day(at, day)
        entry = Note(
            note_id=new_token_id(32),
            visit_id=check_id("visit_id", visit_id),
            kind="handoff",
            by=check_id("staff_id", by),
            role=check_role("role", role),
            at=now,
            text=check_text(note, required=False),
            customer_id=None if customer_id is None else check_id("customer_id", customer_id),
            to_staff_id=None if to_staff_id is None else check_id("to_staff_id", to_staff_id),
            to_role=None if to_role is None else check_role("to_role", to_role),
        )
        receiver_role = entry.role
        if to_staff_role is not None:
            receiver_role = check_role("to_staff_role", to_staff_role)

        def body() -> None:
            holder = self._holder(visit_id)
            if holder is not None and holder.staff_id != by and not force:
                raise NotClaimHolder(visit_id, by, holder.staff_id)
            self._db.execute("DELETE FROM claims WHERE visit_id = ?", (visit_id,))
            if entry.to_staff_id is not None:
                # Without to_staff_role the giver's role is recorded until the receiver
                # claims it (claim is idempotent for the holder).
                self._db.execute(
                    "INSERT INTO claims (visit_id, staff_id, role, at) VALUES (?, ?, ?, ?)",
                    (
                        visit_id,
                        entry.to_staff_id,
                        receiver_role,
                        now.isoformat(timespec="microseconds"),
                    ),
                )
            self._db.execute(*self._insert(entry, business_day))

        self._txn(body)
        return entry

    def record_outcome(
        self,
        visit_id: str,
        lead_id: str,
        outcome: str,
        *,
        by: str,
        role: str,
        note: str | None = None,
        customer_id: str | None = None,
        reason: str | None = None,
        follow_up_on: str | None = None,
        follow_up_max_days: int = 90,
        at: datetime | None = None,
        day: date | None = None,
    ) -> Note:
        """Record a lead's outcome: declined with its reason, follow_up with its date, or another."""
        if outcome not in RECORDABLE_OUTCOMES:
            known = ", ".join(sorted(RECORDABLE_OUTCOMES))
            raise InvalidEntry(f"outcome must be one of {known}, got {outcome!r}")
        now, business_day = self._now_and_day(at, day)
        reason, follow_up_on = check_outcome_detail(
            outcome, reason, follow_up_on, business_day, follow_up_max_days
        )
        entry = Note(
            note_id=new_token_id(32),
            visit_id=check_id("visit_id", visit_id),
            kind="outcome",
            by=check_id("staff_id", by),
            role=check_role("role", role),
            at=now,
            text=check_text(note, required=False),
            customer_id=None if customer_id is None else check_id("customer_id", customer_id),
            lead_id=check_id("lead_id", lead_id),
            outcome=outcome,
            reason=reason,
            follow_up_on=follow_up_on,
        )
        self._write([self._insert(entry, business_day)])
        return entry

    # ------------------------------------------------------------------ reads

    def claimed_by(self, visit_id: str) -> str | None:
        """Return the staff id holding the visit's claim, or None."""
        claim = self.claim_of(visit_id)
        return claim.staff_id if claim else None

    def claim_of(self, visit_id: str) -> Claim | None:
        """Return the visit's claim, or None."""
        with self._lock:
            try:
                return self._holder(visit_id)
            except sqlite3.Error as exc:
                raise NotesStoreError(f"cannot read the notes database: {exc}") from exc

    def notes_for(
        self, visit_id: str | None, day: date, *, customer_id: str | None = None
    ) -> list[Note]:
        """Return a business day's entries for a visit and/or a customer, oldest first."""
        if visit_id is None and customer_id is None:
            raise InvalidEntry("notes_for needs a visit_id or a customer_id")
        select = (
            "SELECT entry_id, day, visit_id, kind, sealed FROM entries "
            "WHERE kind != 'claim' AND day = ? AND "
        )
        params: tuple[Any, ...]
        if customer_id is None:
            sql, params = select + "visit_id = ? ORDER BY seq", (day.isoformat(), visit_id)
        elif visit_id is None:
            sql = select + "customer_tag = ? ORDER BY seq"
            params = (day.isoformat(), self._tag(customer_id))
        else:
            sql = select + "(visit_id = ? OR customer_tag = ?) ORDER BY seq"
            params = (day.isoformat(), visit_id, self._tag(customer_id))
        return self._entries(sql, params)

    def history(self, visit_id: str, customer_id: str | None, since: date) -> list[Note]:
        """Every entry (claims too) of a visit and of the customer's visits since a day, in order."""
        select = "SELECT entry_id, day, visit_id, kind, sealed FROM entries WHERE "
        if customer_id is None:
            return self._entries(select + "visit_id = ? ORDER BY seq", (visit_id,))
        sql = select + "(visit_id = ? OR (customer_tag = ? AND day >= ?)) ORDER BY seq"
        return self._entries(sql, (visit_id, self._tag(customer_id), since.isoformat()))

    def _entries(self, sql: str, params: tuple[Any, ...]) -> list[Note]:
        with self._lock:
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise NotesStoreError(f"cannot read the notes database: {exc}") from exc
        return [open_entry(self._cipher, *row) for row in rows]

    def outcomes_since(self, customer_id: str, since: date) -> list[Note]:
        """Return a customer's lead outcomes from business day `since` on, oldest first."""
        sql = (
            "SELECT entry_id, day, visit_id, kind, sealed FROM entries "
            "WHERE customer_tag = ? AND day >= ? AND kind = 'outcome' ORDER BY seq"
        )
        params = (self._tag(check_id("customer_id", customer_id)), since.isoformat())
        with self._lock:
            try:
                rows = self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise NotesStoreError(f"cannot read the notes database: {exc}") from exc
        return [open_entry(self._cipher, *row) for row in rows]
