"""Open staff event streams per session, so the end of a session closes its streams at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection

__all__ = ["StaffStreams"]


class StaffStreams:
    """The staff streams each session holds open (on the hub's event loop)."""

    def __init__(self) -> None:
        self._by_session: dict[str, set[Callable[[], None]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self, session_key: str, on_end: Callable[[], None]) -> Callable[[], None]:
        """Call `on_end` (on the loop) when the session ends; return the stream's release."""
        self._loop = asyncio.get_running_loop()
        self._by_session.setdefault(session_key, set()).add(on_end)

        def release() -> None:
            live = self._by_session.get(session_key)
            if live is not None:
                live.discard(on_end)
                if not live:
                    del self._by_session[session_key]

        return release

    def sessions_ended(self, session_keys: Collection[str]) -> None:
        """End the streams of these sessions (callable from any thread)."""
        loop = self._loop
        if loop is None or not session_keys:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._end(session_keys)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed: its streams are gone
                loop.call_soon_threadsafe(self._end, tuple(session_keys))

    def _end(self, session_keys: Collection[str]) -> None:
        for key in session_keys:
            for on_end in self._by_session.pop(key, set()):
                on_end()

    def count(self) -> int:
        """How many staff streams are open."""
        return sum(len(s) for s in self._by_session.values())
