"""Reads a station took from its devices and has not finished, kept sealed through a restart.

A swipe leaves the serial line when the hub reads it: if the hub dies before the customer has
a ticket, the device no longer holds it. So the device thread writes each identifying read
here (one row per station, the latest read replacing any earlier one, sealed with the hub's
at-rest key) before the lobby acts on it. The row goes when the read is finished: in the same
transaction as the ticket it led to, or when its session ends otherwise. On start the hub
completes rows younger than the kiosk session's time-out through the normal arrival path and
drops older ones. Completing a read only starts a session, never a ticket, and the ticket's
transaction deletes the row, so a crash during the replay cannot lead to two tickets.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from branch_hub.atrest import AtRestCipher, AtRestError
from branch_hub.database import HubDatabase
from branch_hub.ids import new_token_id
from branch_hub.vocabulary import IdentifiedBy
from drivers.events import CardRead, DeviceEvent, EventKind, IdCardRead, PassbookRead

__all__ = ["PendingRead", "ReadJournal", "read_identifier"]

log = logging.getLogger("branch_hub.lobby")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS station_reads (
    station TEXT PRIMARY KEY,
    read_id TEXT NOT NULL,
    taken_at REAL NOT NULL,
    sealed BLOB NOT NULL
);
"""


@dataclass(frozen=True)
class PendingRead:
    """One read taken at a station and not finished yet."""

    station: str
    read_id: str
    age_s: float
    kind: str  # what the cache looks up: pan, passbook or id_number
    value: str = field(repr=False)
    method: str | None = None  # how the visit records it (chip or stripe for a card)


class ReadJournal:
    """The hub database's table of unfinished reads; thread-safe (device threads write)."""

    def __init__(
        self, db: HubDatabase, cipher: AtRestCipher, clock: Callable[[], float] = time.time
    ) -> None:
        self._hdb = db
        self._cipher = cipher
        self._clock = clock
        db.create(_SCHEMA)

    @staticmethod
    def _aad(station: str, read_id: str) -> bytes:
        return f"read/{station}/{read_id}".encode()

    def take(self, station: str, kind: str, value: str, method: str | None = None) -> str:
        """Keep a read durably (committed on return) before anyone acts on it; its id."""
        read_id = new_token_id()
        body = json.dumps({"kind": kind, "value": value, "method": method}).encode()
        sealed = self._cipher.seal(body, self._aad(station, read_id))
        with self._hdb.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO station_reads (station, read_id, taken_at, sealed) "
                "VALUES (?, ?, ?, ?)",
                (station, read_id, self._clock(), sealed),
            )
        return read_id

    def finish(self, station: str, read_id: str) -> None:
        """Forget a finished read (joins the caller's transaction, e.g. the ticket's)."""
        with self._hdb.transaction() as db:
            db.execute(
                "DELETE FROM station_reads WHERE station = ? AND read_id = ?", (station, read_id)
            )

    def pending(self, max_age_s: float) -> list[PendingRead]:
        """Reads younger than `max_age_s`; older or unreadable rows are deleted."""
        now = self._clock()
        with self._hdb.reading() as db:
            query = "SELECT station, read_id, taken_at, sealed FROM station_reads"
            rows = db.execute(query).fetchall()
        young: list[PendingRead] = []
        for station, read_id, taken_at, sealed in rows:
            read = self._open(station, read_id, now - taken_at, sealed)
            if read is not None and 0 <= read.age_s < max_age_s:
                young.append(read)
            else:
                log.info("an unfinished read at %s is dropped: %.2f s old", station, now - taken_at)
                self.finish(station, read_id)
        return young

    def _open(self, station: str, read_id: str, age: float, sealed: bytes) -> PendingRead | None:
        try:
            body = json.loads(self._cipher.open(sealed, self._aad(station, read_id)))
            return PendingRead(station, read_id, age, body["kind"], body["value"], body["method"])
        except (AtRestError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "an unfinished read at %s cannot be opened: %s", station, type(exc).__name__
            )
            return None

    def count(self) -> int:
        """Rows kept (tests and the bench)."""
        with self._hdb.reading() as db:
            return int(db.execute("SELECT count(*) FROM station_reads").fetchone()[0])


def read_identifier(event: DeviceEvent) -> tuple[str, str, str | None] | None:
    """What the cache knows a read by (kind, value, how the visit records it), or None."""
    payload = event.payload
    if event.kind is EventKind.id_read and isinstance(payload, IdCardRead):
        return "id_number", payload.id_number, None
    if event.kind not in (EventKind.card_read, EventKind.passbook_read):
        return None
    if isinstance(payload, PassbookRead):
        return "passbook", payload.account, None
    if isinstance(payload, CardRead) and payload.pan:
        # The cache knows a card by its number either way; the visit keeps how it was read.
        stripe = event.device == "magstripe" or payload.source == "stripe"
        return "pan", payload.pan, IdentifiedBy.STRIPE if stripe else IdentifiedBy.CHIP
    return None
