"""Today's appointments the hub knows: HQ's met at check-in and staff's booked at the branch.

Each row is sealed at rest with the hub key (the customer reference is personal); only its key,
day and order are in clear. HQ's appointments stay in the customer's cached record until the
customer is read at a kiosk; staff's same-day bookings live only here.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from branch_hub.atrest import AtRestCipher, AtRestError
from branch_hub.database import DatabaseError, HubDatabase
from branch_hub.vocabulary import AppointmentArrival, AppointmentStatus
from sync.export_appointments import local_time

__all__ = ["Appointment", "AppointmentBook", "AppointmentStoreError", "arrival_of", "from_record"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS appointments (
    key TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sealed BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS appointments_day ON appointments (day, seq);
"""


class AppointmentStoreError(Exception):
    """The appointment store cannot be read or written."""


@dataclass(frozen=True)
class Appointment:
    """One booked visit: who (a reference), what, when (branch-local times) and for whom."""

    key: str  # "hq:<HQ's booking id>" or "hub:<token>"
    day: str
    customer_id: str
    service: str
    window_start: str
    window_end: str
    channel: str
    advisor_role: str | None = None
    advisor: str | None = None
    status: str = AppointmentStatus.BOOKED
    arrival: str | None = None
    ticket_id: str | None = None
    checked_in_at: str | None = None
    code_digest: str | None = None  # SHA-256 (hex) of the QR token HQ texted the customer

    @property
    def start(self) -> datetime:
        """The window's start (naive, branch-local)."""
        return datetime.fromisoformat(self.window_start)

    @property
    def end(self) -> datetime:
        """The window's end (naive, branch-local)."""
        return datetime.fromisoformat(self.window_end)

    @property
    def time(self) -> str:
        """The booked time as the kiosk says it: HH:MM."""
        return self.start.strftime("%H:%M")


def from_record(item: object, customer_id: str) -> Appointment | None:
    """An appointment of a cached record (checked at publish), or None if it is not one."""
    if not isinstance(item, dict):
        return None
    start, end = local_time(item.get("window_start")), local_time(item.get("window_end"))
    if start is None or end is None or not isinstance(item.get("id"), str):
        return None
    return Appointment(
        key=f"hq:{item['id']}",
        day=start.date().isoformat(),
        customer_id=customer_id,
        service=str(item.get("service", "")),
        window_start=start.isoformat(timespec="minutes"),
        window_end=end.isoformat(timespec="minutes"),
        channel=str(item.get("channel", "")),
        advisor_role=item.get("advisor_role"),
        advisor=item.get("advisor"),
        code_digest=item.get("code_digest"),
    )


def arrival_of(
    appointment: Appointment, now: datetime, early_min: int, late_min: int
) -> str | None:
    """When `now` (naive, local) falls against the window; None: too early to check in."""
    if now < appointment.start - timedelta(minutes=early_min):
        return None
    if now < appointment.start:
        return AppointmentArrival.EARLY
    if now <= appointment.end:
        return AppointmentArrival.ON_TIME
    if now <= appointment.end + timedelta(minutes=late_min):
        return AppointmentArrival.LATE
    return AppointmentArrival.MISSED


class AppointmentBook:
    """Sealed appointment rows in SQLite (WAL); thread-safe, committed before it returns."""

    def __init__(self, db: HubDatabase | Path, cipher: AtRestCipher) -> None:
        self._cipher = cipher
        try:
            self._hdb = HubDatabase.of(db)
            self._hdb.create(_SCHEMA)
        except (sqlite3.Error, DatabaseError) as exc:
            raise AppointmentStoreError(f"cannot open the appointment store: {exc}") from exc

    @staticmethod
    def _aad(key: str) -> bytes:
        return f"appointment/{key}".encode()

    def put(self, appointment: Appointment) -> None:
        """Insert or replace an appointment (keeps its place in the day's order)."""
        body = json.dumps(asdict(appointment), separators=(",", ":")).encode()
        sealed = self._cipher.seal(body, self._aad(appointment.key))
        with self._hdb.transaction() as db:
            try:
                db.execute(
                    "INSERT INTO appointments (key, day, seq, sealed) VALUES "
                    "(?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM appointments), ?) "
                    "ON CONFLICT (key) DO UPDATE SET sealed = excluded.sealed",
                    (appointment.key, appointment.day, sealed),
                )
            except sqlite3.Error as exc:
                raise AppointmentStoreError(f"cannot store an appointment: {exc}") from exc

    def _open(self, key: str, sealed: bytes) -> Appointment:
        try:
            data: dict[str, Any] = json.loads(self._cipher.open(sealed, self._aad(key)))
            return Appointment(**data)
        except (AtRestError, ValueError, TypeError) as exc:
            raise AppointmentStoreError(f"an appointment cannot be read: {exc}") from exc

    def get(self, key: str) -> Appointment | None:
        """Return an appointment by key, or None."""
        with self._hdb.lock:
            row = self._hdb.conn.execute(
                "SELECT sealed FROM appointments WHERE key = ?", (key,)
            ).fetchone()
        return self._open(key, row[0]) if row else None

    def of_day(self, day: str) -> list[Appointment]:
        """Return the day's appointments in the order the hub learned of them."""
        with self._hdb.lock:
            rows = self._hdb.conn.execute(
                "SELECT key, sealed FROM appointments WHERE day = ? ORDER BY seq", (day,)
            ).fetchall()
        return [self._open(key, sealed) for key, sealed in rows]

    def drop(self, key: str) -> None:
        """Forget an appointment (HQ no longer books it)."""
        with self._hdb.transaction() as db:
            db.execute("DELETE FROM appointments WHERE key = ?", (key,))

    def mark_no_shows(self, day: str, now: datetime, late_min: int) -> list[Appointment]:
        """Mark the day's booked appointments past window_end + late_min as no-shows."""
        gone = [
            replace(a, status=AppointmentStatus.NO_SHOW)
            for a in self.of_day(day)
            if a.status == AppointmentStatus.BOOKED and now > a.end + timedelta(minutes=late_min)
        ]
        for appointment in gone:
            self.put(appointment)
        return gone
