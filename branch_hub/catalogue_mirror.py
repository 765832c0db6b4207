"""The hub's mirror of HQ's catalogue for its tablets: the signed files exactly as the hub verified them.

A tablet checks the catalogue itself (HQ's signature, every chunk's hash), so the mirror serves
the applied version's bytes unchanged: `latest.json` (HQ's signed pointer), `manifest.json`
(the signed manifest it names) and `<sha256>` (one chunk). Names are checked before any path is
built, so a request never reaches a file outside the applied version's folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from branch_hub.catalogue_sync import CatalogueNotReady
from sync.errors import SyncError
from sync.keys import load_signing_public

__all__ = ["MIRROR_NAME", "CatalogueMirror", "UnknownCatalogueFile"]

MIRROR_NAME = re.compile(r"latest\.json|manifest\.json|[0-9a-f]{64}")


class UnknownCatalogueFile(Exception):
    """No such file in the applied catalogue (or not a name the mirror serves)."""


@dataclass(frozen=True)
class CatalogueMirror:
    """Read the applied catalogue's signed files and HQ's public key (blocking: run off the loop)."""

    store: Path
    hq_public: Path | None

    def read(self, name: str) -> bytes:
        """A mirror file's bytes; UnknownCatalogueFile or CatalogueNotReady otherwise."""
        if not MIRROR_NAME.fullmatch(name):
            raise UnknownCatalogueFile(name)
        folder = self.store / "current"
        if not (folder / "status.json").exists():
            raise CatalogueNotReady
        path = folder / name if name.endswith(".json") else folder / "chunks" / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise UnknownCatalogueFile(name) from None

    def key_hex(self) -> str:
        """HQ's catalogue signing key, raw 32 bytes as hex; CatalogueNotReady if not configured."""
        if self.hq_public is None:
            raise CatalogueNotReady
        try:
            key = load_signing_public(self.hq_public)
        except SyncError:
            raise CatalogueNotReady from None
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
