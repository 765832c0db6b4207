"""Reads at the staff desks' readers: held in memory for a moment, given to one waiting request.

ID card on desk D1's reader (a driver thread)
  -> Lobby.sink: a desk's read skips the journal and the kiosk sessions
  -> DeskReads.offer on the loop: to D1's waiting request, else held (at most `hold_s`)
POST /tickets/{id}/identify {by: desk, station: D1}
  -> DeskReads.next_read(D1): the held read (staff may place the card first), else the next one
     within `wait_s` (DeskReadTimeout); one waiting request per desk (DeskBusy)
  -> identified as with a typed number (identify.py).

A read is never written down, logged or kept after it is taken or `hold_s` has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from branch_hub.client._desk_models import DESK_READERS
from branch_hub.client.models import Desk, DeskList
from branch_hub.config import BranchConfig, StationRole
from branch_hub.lobby.errors import DeskBusy, DeskReadTimeout, UnknownDesk

__all__ = ["DESK_HOLD_S", "DESK_WAIT_S", "DeskRead", "DeskReads", "desks_of"]

DESK_WAIT_S = 20.0  # the default of `[hub] desk_read_wait_s`
"""How long a request waits for the next read at its desk."""
DESK_HOLD_S = 10.0
"""How long a read nobody waited for still counts (the card placed before the request)."""


@dataclass(frozen=True)
class DeskRead:
    """One identifier read at a desk: what the cache knows it by, and how the visit records it."""

    kind: str
    value: str = field(repr=False)
    method: str | None = None
    at: float = 0.0


class DeskReads:
    """The desks' latest reads and waiting requests (the event loop's thread only)."""

    def __init__(
        self,
        desks: Iterable[str],
        *,
        wait_s: float = DESK_WAIT_S,
        hold_s: float = DESK_HOLD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desks = frozenset(desks)
        self.wait_s, self.hold_s, self._clock = wait_s, hold_s, clock
        self._held: dict[str, DeskRead] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self._waiting: dict[str, asyncio.Future[DeskRead]] = {}

    def offer(self, station: str, kind: str, value: str, method: str | None = None) -> None:
        """A read at a desk: to its waiting request, else held for `hold_s`."""
        if station not in self.desks:
            return
        read = DeskRead(kind, value, method, self._clock())
        waiter = self._waiting.get(station)
        if waiter is not None and not waiter.done():
            self._drop(station)
            waiter.set_result(read)
            return
        self._drop(station)
        self._held[station] = read
        loop = asyncio.get_running_loop()
        self._expiry[station] = loop.call_later(self.hold_s, self._drop, station)

    async def next_read(self, station: str) -> DeskRead:
        """The desk's read from the last `hold_s`, else the next within `wait_s`."""
        if station not in self.desks:
            raise UnknownDesk(f"no desk {station!r} at this branch")
        if station in self._waiting:
            raise DeskBusy(f"desk {station} already waits for a read")
        held = self._take(station)
        if held is not None:
            return held
        waiter: asyncio.Future[DeskRead] = asyncio.get_running_loop().create_future()
        self._waiting[station] = waiter
        try:
            async with asyncio.timeout(self.wait_s):
                return await waiter
        except TimeoutError:
            raise DeskReadTimeout(f"no read at desk {station} within {self.wait_s:g} s") from None
        finally:
            del self._waiting[station]

    def held(self) -> int:
        """Reads held now (tests)."""
        return len(self._held)

    def waiting(self, station: str) -> bool:
        """Whether a request waits for the desk's next read (tests)."""
        return station in self._waiting

    def _take(self, station: str) -> DeskRead | None:
        read = self._held.get(station)
        self._drop(station)
        if read is None or self._clock() - read.at > self.hold_s:
            return None
        return read

    def _drop(self, station: str) -> None:
        self._held.pop(station, None)
        expiry = self._expiry.pop(station, None)
        if expiry is not None:
            expiry.cancel()


def desks_of(config: BranchConfig) -> DeskList:
    """The branch's desks and their readers, as `[[stations]]` lists them."""
    desks = []
    for station in config.stations:
        if station.role is not StationRole.DESK:
            continue
        urls = (station.id_reader, station.card_reader, station.magstripe)
        readers = tuple(r for r, url in zip(DESK_READERS, urls, strict=True) if url != "none")
        desks.append(Desk(station.id, readers))
    return DeskList(tuple(desks), config.hub.desk_read_wait_s)
