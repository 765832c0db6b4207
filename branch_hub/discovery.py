"""mDNS/DNS-SD: the hub advertises `_branchhub._tcp.local.`; devices find it and check the CA.

TXT keys (RFC 6763 section 6): `branch` (branch id), `hub` (hub id), `ca` (SHA-256 fingerprint of
the branch CA certificate, hex), `api` (API version). A device pins the CA fingerprint at
enrolment; on rediscovery it accepts a new address only when the fingerprint is the same.
Advertising is restricted to the interfaces given (never "all interfaces" by default).
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
    "HubAdvert",
    "HubAdvertiser",
    "accept_rediscovery",
    "browse",
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


class HubAdvertiser:
    """Advertise the hub on the given interface addresses until closed."""

    def __init__(self, advert: HubAdvert, interfaces: list[str], host: str | None = None) -> None:
        if not interfaces:
            raise DiscoveryError("give at least one interface address to advertise on")
        self.advert = advert
        self._zc = Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
        server = f"{host or socket.gethostname()}.local."
        self._info = ServiceInfo(
            SERVICE_TYPE,
            advert.instance_name,
            addresses=[socket.inet_aton(a) for a in advert.addresses],
            port=advert.port,
            properties=advert.properties(),
            server=server,
        )
        self._zc.register_service(self._info)

    def close(self) -> None:
        """Withdraw the advertisement (goodbye packets) and stop."""
        self._zc.unregister_service(self._info)
        self._zc.close()


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
