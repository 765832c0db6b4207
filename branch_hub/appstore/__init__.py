"""The private app store, the hub's side: channels (`store`) and their routes (`routes`).

The bundle format is shared with the devices (`branch_hub.client.bundle`, re-exported as
`bundle`); the device-side updater is `branch_hub.client.updater`.
"""

from __future__ import annotations

from branch_hub.appstore.bundle import (
    Manifest,
    Refused,
    parse_version,
    verify_bundle,
    write_manifest,
)

__all__ = [
    "Manifest",
    "Refused",
    "parse_version",
    "verify_bundle",
    "write_manifest",
]
