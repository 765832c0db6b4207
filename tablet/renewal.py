"""The tablet keeps its certificate current: a renewal check at start, then once a day.

The check runs on the hub worker like any other call; its outcome is settled on the UI thread,
where a refusal that says the device is revoked wipes it as any call's would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from branch_hub.client import DeviceRevoked, HubClient, HubUnavailable
from branch_hub.client.renewal import RENEW_EVERY_S, renew_if_due
from tablet.device import DeviceStore

__all__ = ["RenewalCheck"]

log = logging.getLogger("tablet")
RETRY_S = 600.0  # the hub was unreachable: try again sooner than tomorrow


class RenewalCheck:
    """When the next renewal check is due, and whether one is under way."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._next = 0.0  # at start
        self.running = False

    def poll(
        self,
        store: DeviceStore,
        submit: Callable[[str, Callable[[], Any]], None],
        client: Callable[[], HubClient],
    ) -> None:
        """Submit a check when one is due and the tablet is enrolled with a hub."""
        now = self._clock()
        if self.running or now < self._next or not store.enrolled:
            return
        if not store.settings().get("hub_url"):
            return
        self._next = now + RENEW_EVERY_S
        self.running = True
        submit("renew", lambda: renew_if_due(client()))

    def settled(self, failure: Exception | None) -> bool:
        """Note the outcome; True when the failure must be shown as any call's (revoked)."""
        self.running = False
        if failure is None:
            return False
        if isinstance(failure, DeviceRevoked):
            return True
        if isinstance(failure, HubUnavailable):
            self._next = min(self._next, self._clock() + RETRY_S)
        log.warning("certificate renewal failed: %s", type(failure).__name__)
        return False
