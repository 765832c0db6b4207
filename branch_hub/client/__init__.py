"""The wire client for hub devices (kiosk, tablet): REST and WebSocket over mutual TLS.

Imports nothing else from branch_hub or drivers, so device apps ship without the hub.
"""

from __future__ import annotations

from branch_hub.client._backoff import Backoff
from branch_hub.client._errors import HubError, HubProtocolError, HubRejected, HubUnavailable
from branch_hub.client._rest import HubClient
from branch_hub.client._stream import EventStream, StreamNotice
from branch_hub.client._tls import DeviceTls

__all__ = [
    "Backoff",
    "DeviceTls",
    "EventStream",
    "HubClient",
    "HubError",
    "HubProtocolError",
    "HubRejected",
    "HubUnavailable",
    "StreamNotice",
]
