"""Follow the hub by mDNS when it moves (finding it is `branch_hub.client.discovery`).

A hub found at a new address is accepted only if it advertises the CA fingerprint pinned at
enrolment; at first start an advertisement only fills in the address.
"""

from __future__ import annotations

from branch_hub.client.discovery import FoundHub, default_interfaces, find_hubs
from tablet.device import DeviceStore

__all__ = ["FoundHub", "default_interfaces", "find_hubs", "follow_hub"]


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
