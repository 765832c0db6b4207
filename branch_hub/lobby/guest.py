"""A ticket's guest pass: the link in its QR code, and what a phone may see through it.

The pass is an unguessable token (256 random bits, URL-safe base64); the hub keeps only its
SHA-256 with the ticket's id and business day, so a copied database opens no ticket's page. A
pass answers only on its own business day, and only with the ticket's number, service, place and
wait words: never a name, tier, customer or another ticket.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import sqlite_utils

from branch_common.i18n import EN, ZH_CN
from branch_common.wait_words import is_next, wait_words
from branch_hub.config import BranchConfig
from branch_hub.database import HubDatabase
from branch_hub.migrations import Migrations, migrate
from branch_hub.queue import QueueError, QueueStore, Ticket, TicketState

__all__ = ["GuestPasses", "GuestState", "GuestView", "parse_token", "token_digest"]

TOKEN_BYTES = 32  # 256 bits; token_urlsafe gives 43 characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")

MIGRATIONS = Migrations("guest")


@MIGRATIONS(name="guest_passes")
def _guest_passes(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS guest_passes (digest BLOB PRIMARY KEY, ticket_id TEXT NOT "
        "NULL, day TEXT NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX IF NOT EXISTS guest_passes_day ON guest_passes (day)")


class GuestState(StrEnum):
    """Where a ticket is, as its holder's phone shows it."""

    WAITING = "waiting"
    NEXT = "next"  # 即将叫号
    CALLED = "called"  # to counter N
    DONE = "done"
    EXPIRED = "expired"  # a no-show or cancelled ticket


def parse_token(text: str) -> str | None:
    """The token if `text` has a pass's shape (43 URL-safe characters), else None."""
    return text if _TOKEN.fullmatch(text) else None


def token_digest(token: str) -> bytes:
    """What the hub keeps of a token."""
    return hashlib.sha256(token.encode("ascii")).digest()


@dataclass(frozen=True)
class GuestView:
    """All a pass shows: nothing that names or ranks the customer."""

    number: str
    service_zh: str
    service_en: str
    state: GuestState
    ahead: int
    wait_min: tuple[int, int]
    counter: int | None

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        low, high = self.wait_min
        return {
            "number": self.number,
            "service": {"zh": self.service_zh, "en": self.service_en},
            "state": self.state.value,
            "ahead": self.ahead,
            "wait_min": [low, high],
            "wait": {"zh": wait_words(low, high, ZH_CN), "en": wait_words(low, high, EN)}
            if self.state in {GuestState.WAITING, GuestState.NEXT}
            else None,
            "counter": self.counter,
        }


_DONE = {TicketState.FINISHED: GuestState.DONE}


class GuestPasses:
    """Issues passes with tickets and reads a ticket's view through one (blocking: executor)."""

    def __init__(
        self,
        db: HubDatabase,
        config: BranchConfig,
        queue: QueueStore,
        today: Callable[[], date],
    ) -> None:
        self.db, self.config, self.queue, self.today = db, config, queue, today
        with db.lock:
            migrate(db.conn, MIGRATIONS)

    def issue(self, ticket: Ticket) -> str:
        """A new pass for `ticket` (joining the caller's transaction); return its link."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        day = ticket.day.isoformat()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM guest_passes WHERE day < ?", (day,))  # past days expire
            conn.execute(
                "INSERT INTO guest_passes (digest, ticket_id, day) VALUES (?, ?, ?)",
                (token_digest(token), ticket.id, day),
            )
        return f"{self.config.guest.base_url()}/t/{token}"

    def ticket_of(self, token: str) -> str | None:
        """The id of today's ticket this pass belongs to, else None."""
        with self.db.reading() as conn:
            row = conn.execute(
                "SELECT ticket_id, day FROM guest_passes WHERE digest = ?", (token_digest(token),)
            ).fetchone()
        return None if row is None or row[1] != self.today().isoformat() else str(row[0])

    def view(self, token: str) -> GuestView | None:
        """The ticket's view through this pass today; None for any pass that opens nothing."""
        ticket_id = self.ticket_of(token)
        if ticket_id is None:
            return None
        try:
            ticket = self.queue.ticket(ticket_id)
            estimate = self.queue.estimate(ticket.id)
        except QueueError:  # the queue's day has rolled over
            return None
        if ticket.day != self.today():
            return None
        return self._view(ticket, estimate.ahead, estimate.whole_minutes())

    def _view(self, ticket: Ticket, ahead: int, wait: tuple[int, int]) -> GuestView:
        service = self.config.service(ticket.service)
        state, counter = self._state(ticket, wait)
        if state is not GuestState.WAITING:
            ahead, wait = 0, (0, 0)
        return GuestView(
            ticket.number, service.name_zh, service.name_en, state, ahead, wait, counter
        )

    def _state(self, ticket: Ticket, wait: tuple[int, int]) -> tuple[GuestState, int | None]:
        if ticket.state is TicketState.CALLED:
            numbers = {c.id: c.number for c in self.config.counters}
            return GuestState.CALLED, numbers.get(ticket.counter_id or "")
        if ticket.state is TicketState.PARKED:
            return GuestState.NEXT, None  # set aside a moment; it comes back first
        if ticket.state is TicketState.WAITING:
            return (GuestState.NEXT if is_next(*wait) else GuestState.WAITING), None
        return _DONE.get(ticket.state, GuestState.EXPIRED), None
