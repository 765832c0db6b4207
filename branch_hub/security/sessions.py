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
        # Told the keys of sessions that ended (from the thread that ended them).
        self.on_end: Callable[[list[str]], None] | None = None

    @staticmethod
    def key_of(token: str) -> str:
        """The key a session is known by (its token's digest)."""
        return _key(token)

    def has(self, key: str) -> bool:
        """True while the session with this key is live (its idle time is not judged here)."""
        with self._lock:
            return key in self._sessions

    def create(self, staff_id: str, role: str, name: str, device_id: str) -> str:
        """Start a session and return its token; earlier sessions on that device end."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            replaced = self._drop(lambda s: s.device_id == device_id)
            self._sessions[_key(token)] = Session(staff_id, role, name, device_id, self._clock())
        self._ended(replaced)
        return token

    def resolve(self, token: str, device_id: str | None) -> Session | SessionProblem:
        """Return the live session for a token used from `device_id` (and refresh it)."""
        key = _key(token)
        now = self._clock()
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return SessionProblem("unknown")
            if now - session.last_seen <= self.idle_timeout_s:
                if session.device_id != device_id:
                    return SessionProblem("other_device")
                session.last_seen = now
                return session
            del self._sessions[key]
        self._ended([key])
        return SessionProblem("expired")

    def end(self, token: str) -> Session | None:
        """End a session (logout); return it, or None if it was not live."""
        key = _key(token)
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is not None:
            self._ended([key])
        return session

    def end_for_device(self, device_id: str) -> int:
        """End every session on a device (revocation); return how many ended."""
        with self._lock:
            gone = self._drop(lambda s: s.device_id == device_id)
        self._ended(gone)
        return len(gone)

    def end_for_staff(self, staff_id: str) -> int:
        """End every session of a staff member (account disabled)."""
        with self._lock:
            gone = self._drop(lambda s: s.staff_id == staff_id)
        self._ended(gone)
        return len(gone)

    def end_idle(self) -> int:
        """End every session idle longer than the timeout; return how many ended."""
        now = self._clock()
        with self._lock:
            gone = self._drop(lambda s: now - s.last_seen > self.idle_timeout_s)
        self._ended(gone)
        return len(gone)

    def staff_ids(self) -> set[str]:
        """The staff members with a live session."""
        with self._lock:
            return {s.staff_id for s in self._sessions.values()}

    def _drop(self, match: Callable[[Session], bool]) -> list[str]:
        gone = [k for k, s in self._sessions.items() if match(s)]
        for k in gone:
            del self._sessions[k]
        return gone

    def _ended(self, keys: list[str]) -> None:
        if keys and self.on_end is not None:
            self.on_end(keys)
