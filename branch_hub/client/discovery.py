"""Finding the hub by mDNS/DNS-SD (`_branchhub._tcp.local.`), and checking what it advertises.

TXT keys (RFC 6763 section 6): `branch` (branch id), `hub` (hub id), `ca` (SHA-256 fingerprint of
the branch CA certificate, hex), `api` (API version). An advertisement is not trusted: at first
start it only fills in the address, and the person still types the CA fingerprint IT gave them.
Later a hub found at a new address is accepted only if it advertises the pinned fingerprint.
The hub's advertiser (`branch_hub.discovery`) shares the advert format defined here.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, replace

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

__all__ = [
    "API_VERSION",
    "SERVICE_TYPE",
    "DiscoveryError",
    "FoundHub",
    "HubAdvert",
    "accept_rediscovery",
    "browse",
    "default_interfaces",
    "find_hubs",
]

SERVICE_TYPE = "_branchhub._tcp.local."
API_VERSION = "1"


class DiscoveryError(Exception):
    """An advertisement is malformed, or a rediscovered hub does not match the pinned CA."""


@dataclass(frozen=True)
class HubAdvert:
    """What the hub advertises, and what a browser finds."""

    branch_id: str
    hub_id: str
    ca_fingerprint: str
    port: int
    addresses: tuple[str, ...]
    api_version: str = API_VERSION

    @property
    def instance_name(self) -> str:
        """The DNS-SD instance name."""
        return f"{self.hub_id}.{SERVICE_TYPE}"

    def properties(self) -> dict[str, str]:
        """The TXT record."""
        return {
            "branch": self.branch_id,
            "hub": self.hub_id,
            "ca": self.ca_fingerprint,
            "api": self.api_version,
        }

    @classmethod
    def from_info(cls, info: ServiceInfo) -> HubAdvert:
        """Read an advertisement, or raise DiscoveryError when a TXT key is missing or odd."""
        props: dict[str, str] = {}
        for key, value in info.properties.items():
            props[key.decode("utf-8", "replace")] = (value or b"").decode("utf-8", "replace")
        missing = [k for k in ("branch", "hub", "ca", "api") if not props.get(k)]
        if missing:
            raise DiscoveryError(f"{info.name}: TXT record lacks {', '.join(missing)}")
        fp = props["ca"].lower()
        if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
            raise DiscoveryError(f"{info.name}: 'ca' is not a SHA-256 fingerprint")
        if info.port is None:
            raise DiscoveryError(f"{info.name}: no port")
        return cls(
            branch_id=props["branch"],
            hub_id=props["hub"],
            ca_fingerprint=fp,
            port=info.port,
            addresses=tuple(info.parsed_addresses(IPVersion.V4Only)),
            api_version=props["api"],
        )


def accept_rediscovery(pinned: HubAdvert, found: HubAdvert) -> HubAdvert:
    """Take only the new address and port from a rediscovered hub; refuse another CA."""
    if found.ca_fingerprint != pinned.ca_fingerprint:
        raise DiscoveryError(
            f"hub {found.hub_id} advertises a different CA than the one pinned at enrolment"
        )
    return replace(pinned, addresses=found.addresses, port=found.port)


class _Collector(ServiceListener):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.seen = threading.Event()

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.add(name)
        self.seen.set()

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.add(name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.discard(name)


def browse(interfaces: list[str], timeout_s: float = 3.0) -> list[HubAdvert]:
    """Find advertised hubs on the given interface addresses (well-formed ones only)."""
    zc = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    try:
        collector = _Collector()
        browser = ServiceBrowser(zc, SERVICE_TYPE, collector)
        collector.seen.wait(timeout_s)
        found = []
        for name in sorted(collector.names):
            info = zc.get_service_info(SERVICE_TYPE, name, timeout=int(timeout_s * 1000))
            if info is None:
                continue
            try:
                found.append(HubAdvert.from_info(info))
            except DiscoveryError:
                continue
        browser.cancel()
        return found
    finally:
        zc.close()


@dataclass(frozen=True)
class FoundHub:
    """One advertised hub, as a device offers it to the person setting it up."""

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
    """Browse for hubs on `interfaces` (IPv4 addresses); well-formed adverts with an address."""
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
