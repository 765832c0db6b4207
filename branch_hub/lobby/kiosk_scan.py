"""The kiosk's camera: an appointment QR checks the customer in, a ticket's QR is upgraded.

POST /kiosk/scan {code: "branchedge://appointment?t=<token>"}                (an enrolled kiosk)
  -> SHA-256 of the token against today's book (HQ's bookings carry `code_digest`)
  -> the booking's customer from the cache -> Lobby.recognise, as a card read (check-in rules,
     greeting, printed reserved ticket, advisor alerted; a second scan: the same ticket)
POST /kiosk/session/upgrade {code: "<PUBLIC_URL>/t/<token>"}    (the station's known customer)
  -> the ticket's pass -> today's waiting walk-in -> identify_known (identify.py: same class
     move, visit, `identified` queue event, brief pushed, audit) -> the session ends
Wrong codes cost the station one of `WRONG_CODES_PER_MIN`; then 429 until it slows down.
Nothing changes on any refusal.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from branch_hub.context import RequestContext
from branch_hub.lobby.actions import Actions
from branch_hub.lobby.appointment_book import Appointment
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.errors import AlreadyIdentified, SessionExpired, TicketNotWaiting
from branch_hub.lobby.guest import GuestPasses, parse_token
from branch_hub.lobby.identify import identify_known
from branch_hub.lobby.scan_errors import NotATicket, TooManyWrongCodes, UnknownCode
from branch_hub.lobby.wire import ticket_wire
from branch_hub.queue import QueueError, TicketState
from branch_hub.vocabulary import DeviceKind, IdentifiedBy, SessionState, UpgradeOutcome
from sync.export_appointments import code_digest, code_token

__all__ = ["WRONG_CODES_PER_MIN", "KioskScan", "WrongCodes"]

log = logging.getLogger("branch_hub.lobby.scan")

WRONG_CODES_PER_MIN = 10


class WrongCodes:
    """A bucket of wrong codes per station: `per_min` a minute; the first refusal is logged."""

    def __init__(self, per_min: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_min, self._clock = per_min, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._flooding: set[str] = set()

    def _tokens(self, station: str) -> float:
        now = self._clock()
        tokens, then = self._buckets.get(station, (float(self.per_min), now))
        tokens = min(float(self.per_min), tokens + (now - then) * self.per_min / 60.0)
        if tokens >= self.per_min:
            self._flooding.discard(station)
        return tokens

    def check(self, station: str) -> None:
        """Raise TooManyWrongCodes while the station's bucket is empty."""
        tokens = self._tokens(station)
        if tokens >= 1.0:
            return
        if station not in self._flooding:
            self._flooding.add(station)
            log.warning(
                "kiosk %s sent over %d wrong codes a minute: refusing", station, self.per_min
            )
        wait = math.ceil((1.0 - tokens) * 60.0 / self.per_min)
        raise TooManyWrongCodes(f"too many wrong codes from {station}", max(1, wait))

    def spend(self, station: str) -> None:
        """Count one wrong code against the station."""
        tokens = self._tokens(station)
        self._buckets[station] = (max(0.0, tokens - 1.0), self._clock())


def _ticket_token(text: str) -> str | None:
    """The pass token of a ticket's QR text (`…/t/<token>`), or None."""
    head, sep, token = text.strip().rpartition("/t/")
    return parse_token(token) if sep and head else None


class KioskScan:
    """What the kiosk's camera reads, turned into a check-in or an upgrade."""

    def __init__(self, lobby: Lobby, passes: GuestPasses, actions: Actions) -> None:
        self.lobby, self.passes, self.actions = lobby, passes, actions
        self.wrong = WrongCodes(WRONG_CODES_PER_MIN)

    def _refuse(self, station: str, error: Exception) -> Exception:
        self.wrong.spend(station)
        return error

    # -- appointment codes ----------------------------------------------------------------------
    async def scan(self, station: str, text: str) -> dict[str, Any]:
        """Check in by an appointment QR; the session a card read would start (as the wire)."""
        self.wrong.check(station)
        token = code_token(text)
        booked = await self._booking(code_digest(token)) if token is not None else None
        customer = None
        if booked is not None:
            lobby = self.lobby
            cache = await lobby._open_cache()
            loop = asyncio.get_running_loop()
            find = cache.by_customer_id if cache is not None else None
            if find is not None:
                customer = await loop.run_in_executor(lobby.lookup, find, booked.customer_id)
        if customer is None:
            raise self._refuse(station, UnknownCode("not an appointment code of today"))
        session = await self.lobby.recognise(station, customer, IdentifiedBy.APPOINTMENT_QR)
        return session.to_wire(self.lobby.sessions.now())

    async def _booking(self, digest: str) -> Appointment | None:
        """Today's booking whose code has this digest (the book learns HQ's first)."""
        desk = self.lobby.appointments
        if desk is None:
            return None
        day = desk.local_now(desk.now()).date().isoformat()
        if desk.index is not None:
            try:
                await desk.index.index(day)  # once per cache version: usually nothing to do
            except Exception as exc:  # an unreadable cache: the book as it is
                log.warning("appointment index before a scan failed: %s", type(exc).__name__)
        loop = asyncio.get_running_loop()
        today = await loop.run_in_executor(None, desk.book.of_day, day)
        found = None
        for appointment in today:  # compare every one, in constant time each
            if appointment.code_digest and hmac.compare_digest(appointment.code_digest, digest):
                found = appointment
        return found

    # -- a printed ticket, identified with the customer in front of the kiosk --------------------
    async def upgrade(self, station: str, text: str, request_id: str | None) -> dict[str, Any]:
        """Identify the ticket whose QR was shown with the station's recognised customer."""
        self.wrong.check(station)
        session = self.lobby.sessions.current(station)
        customer = session.customer if session is not None else None
        if session is None or session.state is not SessionState.RECOGNISED or customer is None:
            raise SessionExpired("no recognised customer at this station")
        loop = asyncio.get_running_loop()
        ticket_id = await loop.run_in_executor(None, self._ticket_id, text)
        ticket = await loop.run_in_executor(None, self._ticket, ticket_id) if ticket_id else None
        if ticket is None:
            raise self._refuse(station, NotATicket("not a ticket of this branch today"))
        visit = await loop.run_in_executor(None, self.lobby.visits.get, ticket.visit_ref)
        if ticket.state is not TicketState.WAITING:
            raise TicketNotWaiting(f"ticket {ticket.number} is {ticket.state}")
        if visit is not None and not visit.walk_in:
            if visit.customer_id != customer.customer_id:
                raise AlreadyIdentified(f"ticket {ticket.number} already has its customer")
            outcome = UpgradeOutcome.ALREADY_YOURS
        else:
            caller = RequestContext(device_id=station, device_kind=DeviceKind.KIOSK)
            by = str(session.identified_by or IdentifiedBy.PAN)
            lobby, actions = self.lobby, self.actions
            await identify_known(lobby, actions, caller, ticket.id, customer, by, request_id)
            moved = await loop.run_in_executor(None, self._ticket, ticket.id)
            rose = moved is not None and moved.priority and not ticket.priority
            outcome = UpgradeOutcome.UPGRADED if rose else UpgradeOutcome.IDENTIFIED
            ticket = moved or ticket
        self.lobby.sessions.end(station, "ticket_upgraded")
        estimate = await loop.run_in_executor(None, self.lobby.queue.estimate, ticket.id)
        shown = ticket_wire(self.lobby.config, ticket, estimate)
        return {"outcome": outcome, "ticket": shown.to_wire()}

    def _ticket_id(self, text: str) -> str | None:
        """The ticket a ticket's QR names: its guest pass link, or (passes off) the plain
        `branch-edge:<branch>:<ticket id>` reference of this branch."""
        token = _ticket_token(text)
        if token is not None:
            return self.passes.ticket_of(token)
        prefix = f"branch-edge:{self.lobby.config.branch.id}:"
        plain = text.strip()
        return plain.removeprefix(prefix) if plain.startswith(prefix) else None

    def _ticket(self, ticket_id: str) -> Any:
        try:
            return self.lobby.queue.ticket(ticket_id)
        except QueueError:  # the queue's day has rolled over
            return None
