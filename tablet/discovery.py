"""Follow the hub by mDNS when it moves (finding it is `branch_hub.client.discovery`).

A hub found at a new address is accepted only if it advertises the CA fingerprint pinned at
enrolment; at first start an advertisement only fills in the address. `HubFollower` looks the
hub up once it has been unreachable for a while, on the tablet's hub worker like any call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from branch_hub.client import HubClient
from branch_hub.client.discovery import FoundHub, default_interfaces, find_hubs
from tablet.device import DeviceStore

__all__ = ["FoundHub", "HubFollower", "default_interfaces", "find_hubs", "follow_hub"]

log = logging.getLogger("tablet")
FOLLOW_AFTER_S = 30.0  # unreachable this long: look for the hub by mDNS
LOOK_EVERY_S = 60.0


def follow_hub(
    store: DeviceStore, interfaces: list[str] | None = None, timeout_s: float = 3.0
) -> str | None:
    """If a hub with the pinned CA advertises another address, save and return it."""
    pinned = str(store.settings().get("ca_fingerprint") or "")
    if not pinned:
        return None
    current = store.settings().get("hub_url")
    for hub in find_hubs(interfaces, timeout_s):
        if hub.ca_fingerprint == pinned:
            if hub.url != current:
                store.save_settings(hub_url=hub.url)
            return hub.url
    return None


class HubFollower:
    """Since when the hub is unreachable, and a lookup when that has lasted `after_s`."""

    def __init__(self, clock: Callable[[], float], after_s: float = FOLLOW_AFTER_S) -> None:
        self._clock = clock
        self.after_s = after_s
        self.lost_since: float | None = None
        self.running = False
        self._next = 0.0

    def reachable(self, yes: bool) -> None:
        """Note whether the last call or the stream reached the hub."""
        if yes:
            self.lost_since = None
        elif self.lost_since is None:
            self.lost_since = self._clock()

    def poll(self, store: DeviceStore, submit: Callable[[str, Callable[[], Any]], None]) -> None:
        """Submit a lookup when the hub has been unreachable long enough."""
        now = self._clock()
        if self.running or self.lost_since is None or not store.enrolled:
            return
        if now - self.lost_since < self.after_s or now < self._next:
            return
        self._next = now + LOOK_EVERY_S
        self.running = True
        submit("follow", lambda: follow_hub(store))

    def settled(self, client: HubClient | None, url: object) -> None:
        """A lookup finished: talk to the hub at its new address (the stream reconnects there)."""
        self.running = False
        if isinstance(url, str) and client is not None and client.base_url != url:
            log.warning("the hub moved to %s (same branch CA): following it", url)
            client.move_to(url)
