"""Staff accounts in SQLite: hashed PINs, five failures lock an account for 15 minutes."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from branch_hub.security.errors import AccountDisabled, AccountLocked, LoginFailed, StaffError
from branch_hub.security.passwords import DUMMY_HASH, hash_secret, verify_secret
from branch_hub.security.roles import ROLES

__all__ = ["LOCKOUT_S", "MAX_FAILURES", "StaffAccount", "StaffStore"]

MAX_FAILURES = 5
LOCKOUT_S = 15 * 60.0
STAFF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class StaffAccount:
    """A staff member as the hub knows them (never the PIN)."""

    staff_id: str
    name: str
    role: str
    disabled: bool
    locked_until: float


class StaffStore:
    """Staff accounts of one branch, in the hub's data directory."""

    def __init__(self, db_path: Path, clock: Callable[[], float] = time.time) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._active: set[str] = set()
        self._active_marker: tuple[int, int] = (-1, -1)
        self._clock = clock

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def add(self, staff_id: str, name: str, role: str, secret: str) -> StaffAccount:
        """Create an account; raise StaffError for a bad id, role, weak PIN or duplicate."""
        if not STAFF_ID.fullmatch(staff_id):
            raise StaffError(f"staff id {staff_id!r} must be 1-32 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise StaffError(f"unknown role {role!r} (expected one of {', '.join(sorted(ROLES))})")
        if not name.strip():
            raise StaffError("a staff member needs a name")
        hashed = hash_secret(secret)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO staff (staff_id, name, role, secret_hash, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (staff_id, name.strip(), role, hashed, self._clock()),
                )
            except sqlite3.IntegrityError:
                raise StaffError(f"staff id {staff_id!r} already exists") from None
        return self.get(staff_id)

    def get(self, staff_id: str) -> StaffAccount:
        """Return an account or raise StaffError."""
        row = self._db.execute(
            "SELECT staff_id, name, role, disabled, locked_until FROM staff WHERE staff_id = ?",
            (staff_id,),
        ).fetchone()
        if row is None:
            raise StaffError(f"no staff account {staff_id!r}")
        return StaffAccount(row[0], row[1], row[2], bool(row[3]), float(row[4]))

    def list(self) -> list[StaffAccount]:
        """Return all accounts, by staff id."""
        rows = self._db.execute(
            "SELECT staff_id, name, role, disabled, locked_until FROM staff ORDER BY staff_id"
        ).fetchall()
        return [StaffAccount(r[0], r[1], r[2], bool(r[3]), float(r[4])) for r in rows]

    def directory(self) -> dict[str, tuple[str, str]]:
        """Every account's name and role by staff id (what colleagues see of each other)."""
        rows = self._db.execute("SELECT staff_id, name, role FROM staff").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def is_disabled(self, staff_id: str) -> bool:
        """True when the account is disabled or gone (also when another process changed it).

        Called for every staff request (in a worker thread), so it reads memory: the set of
        active accounts is read again only when the database changed (`PRAGMA data_version`
        reads the WAL index and never waits for a writer).
        """
        with self._lock:
            marker = (self._db.execute("PRAGMA data_version").fetchone()[0], self._db.total_changes)
            if marker != self._active_marker:
                rows = self._db.execute("SELECT staff_id FROM staff WHERE disabled = 0")
                self._active = {r[0] for r in rows}
                self._active_marker = marker
            return staff_id not in self._active

    def set_disabled(self, staff_id: str, disabled: bool = True) -> None:
        """Disable (or re-enable) an account."""
        self.get(staff_id)
        with self._lock:
            self._db.execute(
                "UPDATE staff SET disabled = ?, failures = 0, locked_until = 0 WHERE staff_id = ?",
                (int(disabled), staff_id),
            )

    def set_secret(self, staff_id: str, secret: str) -> None:
        """Replace an account's PIN/password and clear its lockout."""
        self.get(staff_id)
        hashed = hash_secret(secret)
        with self._lock:
            self._db.execute(
                "UPDATE staff SET secret_hash = ?, failures = 0, locked_until = 0 "
                "WHERE staff_id = ?",
                (hashed, staff_id),
            )

    def login(self, staff_id: str, secret: str) -> StaffAccount:
        """Check a PIN; raise LoginFailed/AccountLocked/AccountDisabled, else return the account.

        Every refusal costs one scrypt check, so an unknown, locked or disabled id takes as long
        as a wrong PIN; the subclasses are for the audit log, the answer is the same for all.
        """
        row = self._db.execute(
            "SELECT secret_hash, disabled, failures, locked_until FROM staff WHERE staff_id = ?",
            (staff_id,),
        ).fetchone()
        if row is None:
            verify_secret(secret, DUMMY_HASH)  # same cost as a real check: ids are not probed
            raise LoginFailed("staff id or PIN is wrong")
        stored, disabled, _, locked_until = row
        now = self._clock()
        ok = verify_secret(secret, stored)  # also when locked: the time must not tell
        if locked_until > now:
            raise AccountLocked(locked_until, now)
        with self._lock:
            if not ok:
                failures = self._db.execute(
                    "UPDATE staff SET failures = failures + 1 WHERE staff_id = ? "
                    "RETURNING failures",
                    (staff_id,),
                ).fetchone()[0]
                if failures >= MAX_FAILURES:
                    until = now + LOCKOUT_S
                    self._db.execute(
                        "UPDATE staff SET failures = 0, locked_until = ? WHERE staff_id = ?",
                        (until, staff_id),
                    )
                    raise AccountLocked(until, now)
                raise LoginFailed("staff id or PIN is wrong")
            self._db.execute(
                "UPDATE staff SET failures = 0, locked_until = 0 WHERE staff_id = ?", (staff_id,)
            )
        if disabled:
            raise AccountDisabled("this staff account is disabled; ask the branch administrator")
        return self.get(staff_id)
