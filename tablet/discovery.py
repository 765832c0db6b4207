"""Find the hub by mDNS (`_branchhub._tcp`, H6's `branch_hub.discovery`) and follow it when it moves.

An advertisement is not trusted: at first start it only fills in the address, and the person
still types the CA fingerprint IT gave them. Later, a hub found at a new address is accepted only
if it advertises the CA fingerprint pinned at enrolment.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from tablet.device import DeviceStore

__all__ = ["FoundHub", "default_interfaces", "find_hubs", "follow_hub"]


@dataclass(frozen=True)
class FoundHub:
    """One advertised hub."""

    url: str
    branch_id: str
    hub_id: str
    ca_fingerprint: str


def default_interfaces() -> list[str]:
    """The IPv4 address of the interface with the default route (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): only selects a route
        return [str(probe.getsockname()[0])]
    except OSError:
        return ["127.0.0.1"]
    finally:
        probe.close()


def find_hubs(interfaces: list[str] | None = None, timeout_s: float = 3.0) -> list[FoundHub]:
    """Browse for hubs on `interfaces` (IPv4 addresses); well-formed adverts only."""
    from branch_hub.discovery import browse

    found = []
    for advert in browse(interfaces or default_interfaces(), timeout_s):
        if not advert.addresses:
            continue
        found.append(
            FoundHub(
                f"https://{advert.addresses[0]}:{advert.port}",
                advert.branch_id,
                advert.hub_id,
                advert.ca_fingerprint,
            )
        )
    return found


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
