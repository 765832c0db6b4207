"""The private app store: signed release bundles, hub channels, and the device-side updater.

`bundle` and `client` import nothing from the hub (the kiosk and tablet apps use them);
`store` and `routes` are the hub's side.
"""

from __future__ import annotations

from branch_hub.appstore.bundle import (
    Manifest,
    Refused,
    parse_version,
    verify_bundle,
    write_manifest,
)
from branch_hub.appstore.client import AppUpdater, Offer, UpdaterError, UpdateResult

__all__ = [
    "AppUpdater",
    "Manifest",
    "Offer",
    "Refused",
    "UpdateResult",
    "UpdaterError",
    "parse_version",
    "verify_bundle",
    "write_manifest",
]
