"""The hub's side of mDNS/DNS-SD: advertise `_branchhub._tcp.local.` on chosen interfaces.

The advert format (TXT keys, fingerprint check) is shared with the devices and lives in
`branch_hub.client.discovery`, where browsing is too. Advertising is restricted to the
interfaces the configuration gives or the hub listens on (never loopback unless listed).
"""

from __future__ import annotations

import ipaddress
import socket

import ifaddr
from zeroconf import IPVersion, ServiceInfo, Zeroconf

from branch_hub.client.discovery import API_VERSION, SERVICE_TYPE, DiscoveryError, HubAdvert

__all__ = [
    "API_VERSION",
    "SERVICE_TYPE",
    "DiscoveryError",
    "HubAdvert",
    "HubAdvertiser",
    "advert_interfaces",
    "lan_addresses",
]


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


def advert_interfaces(listen_host: str, configured: list[str]) -> list[str]:
    """Where to advertise: the configured addresses, else the one the hub listens on, else (when
    it listens on all) every non-loopback IPv4 address; never loopback unless configured."""
    if configured:
        return list(configured)
    try:
        listen = ipaddress.ip_address(listen_host)
    except ValueError:
        return []
    if listen.is_unspecified:
        return lan_addresses()
    if listen.version == 4 and not listen.is_loopback:
        return [str(listen)]
    return []


def lan_addresses() -> list[str]:
    """The machine's IPv4 addresses other than loopback and link-local."""
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):
                continue
            address = ipaddress.IPv4Address(ip.ip)
            if not (address.is_loopback or address.is_link_local):
                found.append(str(address))
    return sorted(set(found))
