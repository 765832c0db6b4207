"""Today's HQ bookings from the whole customer cache, so the day knows who did not come.

Once per business day and cache version the hub walks the encrypted cache in small steps on
the cache-lookup thread (a kiosk read waits at most one step) and enters today's bookings in
its book as `booked`; a booking HQ has since withdrawn leaves the book unless it was checked in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace

from branch_hub.lobby.appointment_book import Appointment, AppointmentBook, from_record
from branch_hub.vocabulary import AppointmentStatus
from sync.cache import CustomerCache

__all__ = ["BookingIndex"]

log = logging.getLogger("branch_hub.lobby.appointment_index")

STEP = 200  # records decrypted per step on the lookup thread


class BookingIndex:
    """Enters the cache's bookings of the day in the hub's book."""

    def __init__(
        self,
        book: AppointmentBook,
        cache: Callable[[], CustomerCache | None],
        lookup: Executor,
        services: frozenset[str],
    ) -> None:
        self.book = book
        self.cache = cache
        self.lookup = lookup
        self.services = services
        self.indexed: tuple[str, int] | None = None

    async def index(self, day: str) -> int | None:
        """Index `day` unless done for this cache version; return bookings found (None: skipped)."""
        loop = asyncio.get_running_loop()
        cache = await loop.run_in_executor(self.lookup, self.cache)
        if cache is None:
            return None
        sequence = await loop.run_in_executor(self.lookup, lambda: cache.sequence)
        if self.indexed == (day, sequence):
            return None
        found: dict[str, Appointment] = {}
        after: int | None = 0
        while after is not None:
            records, after = await loop.run_in_executor(
                self.lookup, cache.records_after, after, STEP
            )
            for record in records:
                for item in record.get("appointments") or []:
                    booked = from_record(item, str(record.get("customer_id", "")))
                    if booked is not None and booked.day == day and booked.service in self.services:
                        found[booked.key] = booked
        await loop.run_in_executor(None, self._merge, day, found)
        self.indexed = (day, sequence)
        log.info("bookings of %s indexed at cache sequence %d: %d found", day, sequence, len(found))
        return len(found)

    def _merge(self, day: str, found: dict[str, Appointment]) -> None:
        known = {a.key: a for a in self.book.of_day(day)}
        for key, booked in found.items():
            had = known.get(key)
            if had is None:
                self.book.put(booked)
            elif had.ticket_id is None and had.code_digest != booked.code_digest:
                self.book.put(replace(had, code_digest=booked.code_digest))  # HQ sent a new code
        for key, had in known.items():
            withdrawn = key.startswith("hq:") and key not in found
            if withdrawn and had.ticket_id is None and had.status == AppointmentStatus.BOOKED:
                self.book.drop(key)
