"""Texts to waiting customers: HQ's SMS platform is asked, through the outbox, once per ticket.

A ticket issued to (or identified as) a recognised customer whose export record says
`sms_opt_in: true` is watched: the hub keeps its ticket id and business day, nothing else (the
customer is found again through the sealed visit). After each queue change a watched ticket with
`[sms] ahead` people or fewer ahead gets one `sms_request` record for HQ in the same transaction
and leaves the watch; the record's idempotency key is the ticket's, so it is one per ticket even
across restarts. A watched ticket called, cancelled or left from an earlier day leaves the watch
without a text. The hub never holds the phone number: HQ looks it up by customer_id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from branch_hub.config import SmsSettings
from branch_hub.database import HubDatabase
from branch_hub.lobby.visits import VisitStore
from branch_hub.outbox import Outbox
from branch_hub.queue import QueueError, QueueStore, Ticket, TicketState
from sync.export_fields import sms_opted_in

__all__ = ["SmsNotices", "sms_request_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sms_watch (
    ticket_id TEXT PRIMARY KEY,
    day TEXT NOT NULL
) WITHOUT ROWID;
"""


def sms_request_key(day: str, ticket_id: str) -> str:
    """The outbox idempotency key of a ticket's text: one per ticket and business day."""
    return f"sms_request:{day}:{ticket_id}"


class SmsNotices:
    """Watches opted-in customers' tickets and asks HQ to text them as their turn nears."""

    def __init__(
        self,
        db: HubDatabase,
        settings: SmsSettings,
        queue: QueueStore,
        visits: VisitStore,
        outbox: Outbox,
        clock: Callable[[], datetime],
    ) -> None:
        self.db, self.settings, self.queue = db, settings, queue
        self.visits, self.outbox, self.clock = visits, outbox, clock
        db.create(_SCHEMA)

    def watch(self, ticket: Ticket, record: Mapping[str, Any] | None) -> None:
        """Inside the ticket's issuing (or identifying) transaction: watch it if its customer
        agreed to texts."""
        if not self.settings.enabled or not sms_opted_in(record):
            return
        day = ticket.day.isoformat()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sms_watch WHERE day < ?", (day,))  # past days' leftovers
            conn.execute("INSERT OR IGNORE INTO sms_watch VALUES (?, ?)", (ticket.id, day))

    def notice(self) -> int:
        """Inside a queue change's transaction: ask for each watched ticket now near the front;
        return how many texts were asked for."""
        if not self.settings.enabled:
            return 0
        asked = 0
        with self.db.transaction() as conn:
            for ticket_id, day in conn.execute("SELECT ticket_id, day FROM sms_watch").fetchall():
                verdict = self._verdict(ticket_id, day)
                if verdict == "wait":
                    continue
                if verdict == "ask":
                    asked += self._ask(ticket_id, day)
                conn.execute("DELETE FROM sms_watch WHERE ticket_id = ?", (ticket_id,))
        return asked

    def _verdict(self, ticket_id: str, day: str) -> str:
        """`ask` (near the front), `wait` (still far) or `drop` (gone, called or another day)."""
        try:
            ticket = self.queue.ticket(ticket_id)
        except QueueError:
            return "drop"
        if ticket.day.isoformat() != day or ticket.state is not TicketState.WAITING:
            return "drop"
        return "ask" if self.queue.estimate(ticket_id).ahead <= self.settings.ahead else "wait"

    def _ask(self, ticket_id: str, day: str) -> int:
        """Queue the ticket's `sms_request` for HQ (joins the open transaction)."""
        ticket = self.queue.ticket(ticket_id)
        visit = self.visits.get(ticket.visit_ref) if ticket.visit_ref else None
        if visit is None or visit.customer_id is None:
            return 0
        payload = {
            "customer_id": visit.customer_id,
            "ticket": ticket.number,
            "ahead": self.queue.estimate(ticket_id).ahead,
            "service": ticket.service,
            "at": self.clock().isoformat(timespec="seconds"),
        }
        return int(self.outbox.enqueue("sms_request", payload, sms_request_key(day, ticket_id)))
