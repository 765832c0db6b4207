"""Staff sessions: random bearer tokens bound to one device, ended by idle time or logout."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Session", "SessionProblem", "SessionStore"]


@dataclass
class Session:
    """One staff member logged in on one device."""

    staff_id: str
    role: str
    name: str
    device_id: str
    last_seen: float


class SessionProblem(str):
    """Why a presented token gives no session: 'unknown', 'expired' or 'other_device'."""


def _key(token: str) -> str:
    # Keep only a digest in memory, so a dump of the table holds no usable tokens.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class SessionStore:
    """In-memory sessions (a hub restart logs staff out, which is the safe direction)."""

    def __init__(self, idle_timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, staff_id: str, role: str, name: str, device_id: str) -> str:
        """Start a session and return its token; earlier sessions on that device end."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._drop(lambda s: s.device_id == device_id)
            self._sessions[_key(token)] = Session(staff_id, role, name, device_id, self._clock())
        return token

    def resolve(self, token: str, device_id: str | None) -> Session | SessionProblem:
        """Return the live session for a token used from `device_id` (and refresh it)."""
        key = _key(token)
        now = self._clock()
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return SessionProblem("unknown")
            if now - session.last_seen > self.idle_timeout_s:
                del self._sessions[key]
                return SessionProblem("expired")
            if session.device_id != device_id:
                return SessionProblem("other_device")
            session.last_seen = now
            return session

    def end(self, token: str) -> Session | None:
        """End a session (logout); return it, or None if it was not live."""
        with self._lock:
            return self._sessions.pop(_key(token), None)

    def end_for_device(self, device_id: str) -> int:
        """End every session on a device (revocation); return how many ended."""
        with self._lock:
            return self._drop(lambda s: s.device_id == device_id)

    def end_for_staff(self, staff_id: str) -> int:
        """End every session of a staff member (account disabled)."""
        with self._lock:
            return self._drop(lambda s: s.staff_id == staff_id)

    def _drop(self, match: Callable[[Session], bool]) -> int:
        gone = [k for k, s in self._sessions.items() if match(s)]
        for k in gone:
            del self._sessions[k]
        return len(gone)
