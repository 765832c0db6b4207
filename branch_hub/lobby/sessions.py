"""Kiosk sessions: what a station knows about the customer in front of it, for a short while.

A session starts when a card, passbook or ID card is read at a station and ends when the
customer takes a ticket, the kiosk ends it, or `hub.kiosk_session_timeout_s` passes; then the
customer is forgotten (the decrypted record is dropped). Sessions live in memory only.
Each station's kiosk listens on `/kiosk/events`; messages are not persisted and not replayed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from branch_hub.ids import new_token_id
from branch_hub.vocabulary import KioskMessage, SessionState
from sync.cache import Customer

__all__ = ["KioskSession", "KioskSessions", "SessionState"]

_QUEUE = 64  # kiosk messages per listener before it is dropped (the kiosk reconnects)


@dataclass(eq=False)
class KioskSession:
    """One customer at one station (in memory only)."""

    station: str
    state: SessionState
    expires_at: float
    session_id: str = field(default_factory=new_token_id)
    customer: Customer | None = field(default=None, repr=False)
    greeting: dict[str, Any] | None = None
    problem: str | None = None
    identified_by: str | None = None
    appointment: dict[str, Any] | None = None  # a booked visit checked in (appointments.py)
    read_id: str | None = None  # the unfinished read it came from (read_journal.py)

    def to_wire(self, now: float) -> dict[str, Any]:
        """The session as the kiosk sees it: a greeting at most, never a name or number."""
        wire = {
            "session_id": self.session_id,
            "state": self.state,
            "greeting": self.greeting,
            "problem": self.problem,
            "expires_in_s": max(0, round(self.expires_at - now)),
        }
        return wire | {"appointment": self.appointment} if self.appointment else wire


class KioskSessions:
    """Current session per station, its timeout, and the stations' kiosk listeners."""

    def __init__(self, timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._sessions: dict[str, KioskSession] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        # Told when a session from a read ends other than by its ticket or a shutdown.
        self.on_forget: Callable[[KioskSession], None] | None = None

    def now(self) -> float:
        """The sessions' clock (monotonic seconds)."""
        return self._clock()

    def current(self, station: str) -> KioskSession | None:
        """Return the station's live session, forgetting it if it has expired."""
        session = self._sessions.get(station)
        if session is not None and session.expires_at <= self._clock():
            self._drop(station, "timeout")
            return None
        return session

    def start(
        self,
        station: str,
        state: SessionState,
        *,
        customer: Customer | None = None,
        greeting: dict[str, Any] | None = None,
        problem: str | None = None,
        identified_by: str | None = None,
        appointment: dict[str, Any] | None = None,
        read_id: str | None = None,
        lasts_s: float | None = None,
    ) -> KioskSession:
        """Start (or replace) the station's session and tell its kiosk."""
        old = self._sessions.get(station)
        lasts = self.timeout_s if lasts_s is None else min(lasts_s, self.timeout_s)
        session = KioskSession(
            station=station,
            state=state,
            expires_at=self._clock() + lasts,
            customer=customer,
            greeting=greeting,
            problem=problem,
            identified_by=identified_by,
            appointment=appointment,
            read_id=read_id,
        )
        if old is not None and old.read_id is not None and old.read_id != read_id:
            self._forgotten(old, "replaced")
        if (
            old is not None
            and old.state is SessionState.READING
            and state is not SessionState.READING
        ):
            session.session_id = old.session_id  # the same customer, now read
        self._sessions[station] = session
        self._arm(station)
        self.tell(station, KioskMessage.SESSION, session.to_wire(self._clock()))
        return session

    def end(self, station: str, reason: str = "ended") -> bool:
        """End the station's session (forgetting the customer); return whether one was live."""
        if station not in self._sessions:
            return False
        self._drop(station, reason)
        return True

    def _drop(self, station: str, reason: str) -> None:
        session = self._sessions.pop(station, None)
        timer = self._timers.pop(station, None)
        if timer is not None:
            timer.cancel()
        if session is not None:
            session.customer = None
            self._forgotten(session, reason)
            self.tell(
                station,
                KioskMessage.SESSION_ENDED,
                {"session_id": session.session_id, "reason": reason},
            )

    def _forgotten(self, session: KioskSession, reason: str) -> None:
        # The ticket's own transaction forgets its read; a shutdown keeps it for the next start.
        keep = reason in ("ticket_issued", "shutdown")
        if session.read_id is not None and not keep and self.on_forget is not None:
            self.on_forget(session)

    def _arm(self, station: str) -> None:
        timer = self._timers.pop(station, None)
        if timer is not None:
            timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (unit use): expiry is still checked lazily by current()
        delay = max(0.0, self._sessions[station].expires_at - self._clock())
        self._timers[station] = loop.call_later(delay, self._expire, station)

    def _expire(self, station: str) -> None:
        session = self._sessions.get(station)
        if session is not None and session.expires_at <= self._clock() + 0.01:
            self._drop(station, "timeout")
        elif session is not None:  # replaced meanwhile with a later expiry
            self._arm(station)

    # -- kiosk listeners -------------------------------------------------------------------
    def listen(self, station: str) -> asyncio.Queue[dict[str, Any]]:
        """Register a kiosk listener for a station."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_QUEUE)
        self._listeners.setdefault(station, set()).add(queue)
        return queue

    def unlisten(self, station: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Forget a kiosk listener."""
        self._listeners.get(station, set()).discard(queue)

    def tell(self, station: str, kind: str, data: dict[str, Any]) -> None:
        """Send a message to the station's kiosk listeners (never blocks)."""
        message = {"kind": kind, "data": data}
        for queue in list(self._listeners.get(station, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self._listeners[station].discard(queue)

    def tell_all(self, kind: str, data: dict[str, Any]) -> None:
        """Send a message to every station's kiosks."""
        for station in list(self._listeners):
            self.tell(station, kind, data)

    def close(self) -> None:
        """Cancel timers and forget every customer."""
        for station in list(self._sessions):
            self._drop(station, "shutdown")
