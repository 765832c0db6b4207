"""Hand-offs awaiting their receiver, the customer's place in the branch, managers' alerts.

The book holds references only (visit ids, staff ids, a location word, times), never a name or
a number of the customer, so its rows are not sealed. It keeps the latest hand-off of each visit
(who gave it, to whom, where the customer was taken, who accepted it) and, per staff member and
day, the arrivals of their own customers they have not dismissed yet. Rows of earlier days are
dropped as new ones are written. Writes join the caller's transaction (`Actions.run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.database import HubDatabase
from branch_hub.vocabulary import CustomerLocation, Role

__all__ = ["HandoffBook", "PendingHandoff"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handoffs (
    visit_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    by_staff TEXT NOT NULL,
    to_staff TEXT,
    to_role TEXT,
    location TEXT,
    at TEXT NOT NULL,
    accepted_by TEXT,
    accepted_at TEXT
);
CREATE INDEX IF NOT EXISTS handoffs_day ON handoffs (day);
CREATE TABLE IF NOT EXISTS manager_alerts (
    staff_id TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    day TEXT NOT NULL,
    at TEXT NOT NULL,
    dismissed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (staff_id, visit_id)
);
CREATE INDEX IF NOT EXISTS manager_alerts_day ON manager_alerts (staff_id, day);
"""
_COLUMNS = "visit_id, by_staff, to_staff, to_role, location, at, accepted_by, accepted_at"


@dataclass(frozen=True)
class PendingHandoff:
    """A visit's latest hand-off (accepted_by None: its receiver has not accepted it yet)."""

    visit_id: str
    by: str
    to_staff_id: str | None
    to_role: Role | None
    location: CustomerLocation | None
    at: str
    accepted_by: str | None = None
    accepted_at: str | None = None

    def may_accept(self, staff_id: str, role: str) -> bool:
        """True for the named receiver, or anyone of the role it went to."""
        if self.to_staff_id is not None:
            return self.to_staff_id == staff_id
        return self.to_role == role

    def to_wire(self) -> dict[str, Any]:
        """JSON form (in a visit's row of the lobby list)."""
        return {
            "by": self.by,
            "to_staff_id": self.to_staff_id,
            "to_role": self.to_role,
            "location": self.location,
            "at": self.at,
            "accepted_by": self.accepted_by,
        }


def _handoff(row: tuple[Any, ...]) -> PendingHandoff:
    role = Role(row[3]) if row[3] else None
    location = CustomerLocation(row[4]) if row[4] else None
    return PendingHandoff(row[0], row[1], row[2], role, location, row[5], row[6], row[7])


class HandoffBook:
    """The hub database's record of hand-offs and managers' alerts; thread-safe."""

    def __init__(self, db: HubDatabase) -> None:
        self._hdb = db
        db.create(_SCHEMA)

    def record(self, day: str, handoff: PendingHandoff) -> None:
        """Keep a visit's new hand-off (it replaces an earlier one of the visit)."""
        with self._hdb.transaction() as db:
            db.execute("DELETE FROM handoffs WHERE day < ?", (day,))
            db.execute(
                f"INSERT OR REPLACE INTO handoffs (day, {_COLUMNS}) "  # noqa: S608 (constant)
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                (
                    day,
                    handoff.visit_id,
                    handoff.by,
                    handoff.to_staff_id,
                    handoff.to_role,
                    handoff.location,
                    handoff.at,
                ),
            )

    def of_visit(self, visit_id: str, day: str) -> PendingHandoff | None:
        """The visit's latest hand-off today, or None."""
        with self._hdb.reading() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM handoffs WHERE visit_id = ? AND day = ?",  # noqa: S608
                (visit_id, day),
            ).fetchone()
        return _handoff(row) if row else None

    def of_day(self, day: str) -> dict[str, PendingHandoff]:
        """Every visit's latest hand-off of the day."""
        with self._hdb.reading() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM handoffs WHERE day = ?",  # noqa: S608 (constant)
                (day,),
            ).fetchall()
        return {row[0]: _handoff(row) for row in rows}

    def accept(self, visit_id: str, staff_id: str, at: str) -> None:
        """Mark the visit's hand-off accepted by `staff_id`."""
        with self._hdb.transaction() as db:
            db.execute(
                "UPDATE handoffs SET accepted_by = ?, accepted_at = ? WHERE visit_id = ?",
                (staff_id, at, visit_id),
            )

    def alert_manager(self, staff_id: str, visit_id: str, day: str, at: str) -> None:
        """Keep a manager's alert that one of their customers arrived (until dismissed)."""
        with self._hdb.transaction() as db:
            db.execute("DELETE FROM manager_alerts WHERE day < ?", (day,))
            db.execute(
                "INSERT OR IGNORE INTO manager_alerts (staff_id, visit_id, day, at) "
                "VALUES (?, ?, ?, ?)",
                (staff_id, visit_id, day, at),
            )

    def alerts_for(self, staff_id: str, day: str) -> list[tuple[str, str]]:
        """A manager's undismissed alerts of the day: (visit id, arrival time), oldest first."""
        with self._hdb.reading() as db:
            rows = db.execute(
                "SELECT visit_id, at FROM manager_alerts "
                "WHERE staff_id = ? AND day = ? AND dismissed = 0 ORDER BY at",
                (staff_id, day),
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def dismiss(self, staff_id: str, visit_id: str, day: str) -> bool:
        """Dismiss a manager's alert; False when there was none to dismiss."""
        with self._hdb.transaction() as db:
            done = db.execute(
                "UPDATE manager_alerts SET dismissed = 1 "
                "WHERE staff_id = ? AND visit_id = ? AND day = ? AND dismissed = 0",
                (staff_id, visit_id, day),
            )
        return done.rowcount > 0
