"""The release bundle format, shared with the devices: defined in `branch_hub.client.bundle`."""

from __future__ import annotations

from branch_hub.client.bundle import (
    APPS,
    CONTEXT,
    MANIFEST,
    SIGNATURE,
    Manifest,
    Refused,
    parse_version,
    verify_bundle,
    write_manifest,
)

__all__ = [
    "APPS",
    "CONTEXT",
    "MANIFEST",
    "SIGNATURE",
    "Manifest",
    "Refused",
    "parse_version",
    "verify_bundle",
    "write_manifest",
]
