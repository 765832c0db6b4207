"""The hub's side of mDNS/DNS-SD: advertise `_branchhub._tcp.local.` on chosen interfaces.

The advert format (TXT keys, fingerprint check) is shared with the devices and lives in
`branch_hub.client.discovery`, where browsing is too. Advertising is restricted to the
interfaces given (never "all interfaces" by default).
"""

from __future__ import annotations

import socket

from zeroconf import IPVersion, ServiceInfo, Zeroconf

from branch_hub.client.discovery import API_VERSION, SERVICE_TYPE, DiscoveryError, HubAdvert

__all__ = ["API_VERSION", "SERVICE_TYPE", "DiscoveryError", "HubAdvert", "HubAdvertiser"]


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
