"""The queue's tables: the schema, the rows a committed event writes, and the day read back."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import orjson

from branch_hub.config import BranchConfig
from branch_hub.queue._engine import QueueEngine
from branch_hub.queue._errors import QueueError
from branch_hub.queue._model import EventKind, QueueEvent, Ticket
from branch_hub.queue._stats import WINDOW

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "forget_tiers",
    "replay_latest_day",
    "stored_ticket",
    "write_events",
]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    day TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    ticket_id TEXT,
    counter_id TEXT,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_day ON events (day, seq);
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    number TEXT NOT NULL,
    service TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    tier TEXT,
    visit_ref TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (day, number)
);
CREATE TABLE IF NOT EXISTS numbering (
    day TEXT NOT NULL,
    service TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (day, service)
);
CREATE TABLE IF NOT EXISTS service_times (
    seq INTEGER PRIMARY KEY,
    service TEXT NOT NULL,
    duration_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS wait_pairs (
    seq INTEGER PRIMARY KEY,
    raw_min REAL NOT NULL,
    waited_min REAL NOT NULL
);
"""

WAIT_PAIRS_LOADED = 5000
"""Past (raw point, wait) pairs a reopened store teaches the wait range (12 bands x 400 kept)."""


def write_events(
    conn: sqlite3.Connection, events: tuple[QueueEvent, ...]
) -> tuple[QueueEvent, ...]:
    """Append events with their ticket, numbering and service-time rows; return them with seq."""
    written = []
    for event in events:
        seq = _append(conn, event)
        written.append(replace(event, seq=seq))
        ticket = event.ticket
        if ticket is not None:
            _save_ticket(conn, ticket, seq)
        if event.kind is EventKind.TICKET_ISSUED and ticket is not None:
            conn.execute(
                "INSERT INTO numbering (day, service, last) VALUES (?, ?, ?) "
                "ON CONFLICT (day, service) DO UPDATE SET last = max(last, excluded.last)",
                (ticket.day.isoformat(), ticket.services[0], ticket.ordinal),
            )
        elif event.kind is EventKind.FINISHED:
            _record_service_time(conn, event, seq)
        elif event.kind is EventKind.CALLED:
            _record_wait_pair(conn, event, seq)
    return tuple(written)


def _append(conn: sqlite3.Connection, event: QueueEvent) -> int:
    ticket = event.ticket
    cursor = conn.execute(
        "INSERT INTO events (day, at, kind, ticket_id, counter_id, body) VALUES (?, ?, ?, ?, ?, ?)",
        (
            event.day.isoformat(),
            event.at.isoformat(),
            event.kind.value,
            ticket.id if ticket else None,
            event.counter_id,
            event.to_json(),
        ),
    )
    return int(cursor.lastrowid or 0)


def _save_ticket(conn: sqlite3.Connection, ticket: Ticket, seq: int) -> None:
    conn.execute(
        "INSERT INTO tickets (id, day, number, service, state, priority, tier, "
        "visit_ref, issued_at, last_seq, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET service = excluded.service, "
        "state = excluded.state, last_seq = excluded.last_seq, body = excluded.body",
        (
            ticket.id,
            ticket.day.isoformat(),
            ticket.number,
            ticket.service,
            ticket.state.value,
            int(ticket.priority),
            None,  # tier: no longer stored (the column stays for older files)
            ticket.visit_ref,
            ticket.issued_at.isoformat(),
            seq,
            orjson.dumps(ticket.to_dict()),
        ),
    )


def _record_service_time(conn: sqlite3.Connection, event: QueueEvent, seq: int) -> None:
    service = event.detail.get("service")
    duration = event.detail.get("service_s")
    if isinstance(service, str) and isinstance(duration, int | float):
        conn.execute(
            "INSERT INTO service_times (seq, service, duration_s) VALUES (?, ?, ?)",
            (seq, service, float(duration)),
        )


def _record_wait_pair(conn: sqlite3.Connection, event: QueueEvent, seq: int) -> None:
    raw = event.detail.get("issued_raw_min")
    ticket = event.ticket
    if isinstance(raw, int | float) and ticket is not None and ticket.called_at is not None:
        waited = max(0.0, (ticket.called_at - ticket.issued_at).total_seconds() / 60)
        conn.execute(
            "INSERT INTO wait_pairs (seq, raw_min, waited_min) VALUES (?, ?, ?)",
            (seq, float(raw), waited),
        )


def replay_latest_day(conn: sqlite3.Connection, config: BranchConfig, engine: QueueEngine) -> int:
    """Replay the latest business day (and the service times and wait pairs before it); return
    its last seq."""
    last = conn.execute("SELECT day FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    seq = 0
    if last is None:
        return seq
    first = conn.execute("SELECT min(seq) FROM events WHERE day = ?", (last[0],)).fetchone()[0]
    for code in (s.code for s in config.services):
        rows = conn.execute(
            "SELECT duration_s FROM service_times WHERE service = ? AND seq < ? "
            "ORDER BY seq DESC LIMIT ?",
            (code, first, WINDOW),
        ).fetchall()
        engine.stats.extend((code, r[0]) for r in reversed(rows))
    pairs = conn.execute(
        "SELECT raw_min, waited_min FROM wait_pairs WHERE seq < ? ORDER BY seq DESC LIMIT ?",
        (first, WAIT_PAIRS_LOADED),
    ).fetchall()
    for raw, waited in reversed(pairs):
        engine.estimator.calibration.add(raw, waited)
    for row_seq, body in conn.execute(
        "SELECT seq, body FROM events WHERE seq >= ? ORDER BY seq", (first,)
    ):
        engine.apply(QueueEvent.from_json(body, seq=row_seq))
        seq = row_seq
    return seq


def stored_ticket(conn: sqlite3.Connection, ticket_id: str) -> Ticket | None:
    """Return a ticket as stored in the tickets table (any day), or None."""
    row = conn.execute("SELECT body FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    data = orjson.loads(row[0])
    if not isinstance(data, dict):
        raise QueueError("malformed ticket row")
    return Ticket.from_dict(data)


def forget_tiers(conn: sqlite3.Connection) -> int:
    """Strip the customer tier older versions stored with tickets and events; return rows fixed.

    Runs once per file (a `meta` flag); the caller holds the write transaction.
    """
    if conn.execute("SELECT 1 FROM meta WHERE key = 'tiers_forgotten'").fetchone():
        return 0
    fixed = conn.execute("UPDATE tickets SET tier = NULL WHERE tier IS NOT NULL").rowcount
    for table in ("tickets", "events"):
        rows = conn.execute(
            f"SELECT rowid, body FROM {table} WHERE instr(body, ?) > 0",  # noqa: S608 - fixed names
            (b'"tier":',),
        ).fetchall()
        for rowid, body in rows:
            data = orjson.loads(body)
            ticket = data.get("ticket") if table == "events" else data
            if isinstance(ticket, dict):
                ticket.pop("tier", None)
            conn.execute(
                f"UPDATE {table} SET body = ? WHERE rowid = ?",  # noqa: S608 - fixed names
                (orjson.dumps(data), rowid),
            )
        fixed += len(rows)
    conn.execute("INSERT INTO meta (key, value) VALUES ('tiers_forgotten', '1')")
    return fixed
