"""The tablet's verified catalogue copy: taken from the hub at start, then every quarter hour.

The keeper is the catalogue the screens read (`search()`, `image(name)`). Its refresh runs on the
hub worker like any other call and is settled on the UI thread; a refusal (the hub has no
catalogue yet, a forged file, another key) keeps the copy in use and is logged, never put on a
staff member's screen. A copy found changed on the device's disk is dropped, so the next refresh
takes a whole new one from the hub.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from branch_hub.client import DeviceRevoked, HubClient, HubError
from branch_hub.client.catalogue_copy import CatalogueCopy, CatalogueCopyError, CopyResult
from branch_hub.client.catalogue_search import CatalogueSearch
from tablet.device import DeviceStore

__all__ = ["REFRESH_S", "RETRY_S", "CatalogueKeeper"]

log = logging.getLogger("tablet")
REFRESH_S = 900.0  # HQ publishes a catalogue a few times a day at most
RETRY_S = 60.0  # the hub had none yet, or could not be reached


class CatalogueKeeper:
    """The catalogue copy on this tablet, when to refresh it, and a search over it."""

    def __init__(self, clock: Callable[[], float], folder: Path) -> None:
        self._clock = clock
        self.copy = CatalogueCopy(folder)
        self._next = 0.0  # at start
        self.running = False
        self.problem = ""  # the last refusal's reason code ("" when the last refresh was fine)
        self._search: CatalogueSearch | None = None
        self._sequence: int | None = None
        self._opened: tuple[int, CatalogueSearch] | None = None  # checked on the worker

    # -- what the screens read ---------------------------------------------------------------
    def search(self) -> CatalogueSearch | None:
        """A search over the copy in use (checked again when a new copy landed); None without one."""
        sequence = self.copy.sequence
        if self._search is not None and sequence == self._sequence:
            return self._search
        opened, self._opened = self._opened, None
        try:
            fresh = opened[1] if opened and opened[0] == sequence else self.copy.open()
        except CatalogueCopyError as exc:
            self._dropped(exc)
            fresh = None
        # The old search is left open for a reader still holding it; it is small and read-only.
        self._search, self._sequence = fresh, sequence
        return fresh

    def image(self, name: str) -> bytes | None:
        """A picture's hash-checked bytes from the copy; None when missing or changed on disk."""
        try:
            return self.copy.file(name)
        except CatalogueCopyError as exc:
            self._dropped(exc)
            return None

    def _dropped(self, exc: CatalogueCopyError) -> None:
        log.warning("catalogue copy refused: %s", exc.reason_code)
        self.problem = exc.reason_code
        self.copy.forget_current()
        self._next = 0.0

    # -- refresh -----------------------------------------------------------------------------
    def poll(
        self,
        store: DeviceStore,
        submit: Callable[[str, Callable[[], Any]], None],
        client: Callable[[], HubClient],
    ) -> None:
        """Submit a refresh when one is due and the tablet is enrolled with a hub."""
        now = self._clock()
        if self.running or now < self._next or not store.enrolled:
            return
        if not store.settings().get("hub_url"):
            return
        self._next = now + REFRESH_S
        self.running = True
        submit("catalogue", lambda: self._refresh(client()))

    def _refresh(self, client: HubClient) -> CopyResult:
        """One refresh (on the hub worker): HQ's key as the hub knows it, then the signed files.

        A new copy is also opened (checked whole: tens of milliseconds for a full catalogue) here,
        so the UI thread only picks it up.
        """
        result = self.copy.refresh(client.catalogue_file, client.catalogue_key())
        sequence = self.copy.sequence
        if sequence is not None and sequence != self._sequence:
            try:
                search = self.copy.open()
            except CatalogueCopyError:
                search = None  # the UI thread's own open() refuses it and drops it
            self._opened = (sequence, search) if search is not None else None
        return result

    def settled(self, failure: Exception | None) -> bool:
        """Note the outcome; True when the failure must be shown as any call's (revoked)."""
        self.running = False
        if failure is None:
            self.problem = ""
            return False
        if isinstance(failure, DeviceRevoked):
            return True
        self.problem = getattr(failure, "reason_code", "") or getattr(failure, "code", "") or ""
        if isinstance(failure, CatalogueCopyError | HubError):
            self._next = min(self._next, self._clock() + RETRY_S)
        log.warning("catalogue refresh failed: %s %s", type(failure).__name__, self.problem)
        return False
