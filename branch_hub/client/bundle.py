"""The release bundle format: the app's wheels plus a signed manifest (shared by hub and devices).

A bundle is a folder: `manifest.json` (app, version, minimum hub version, SHA-256 and size of
every other file), `manifest.sig` (base64 Ed25519 signature of the manifest's exact bytes by
the release key) and the files themselves. This module imports nothing from the hub, so the
kiosk and tablet apps can use it. Format: docs/operations.md, "Release bundles".
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from branch_hub.vocabulary import AppName

__all__ = [
    "APPS",
    "MANIFEST",
    "SIGNATURE",
    "Manifest",
    "Refused",
    "parse_version",
    "verify_bundle",
    "write_manifest",
]

APPS: tuple[str, ...] = tuple(app.value for app in AppName)
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CONTEXT = b"branch-edge/v1 release\x00"
_VERSION = re.compile(r"\d{1,6}(\.\d{1,6}){0,3}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,200}")


class Refused(Exception):
    """A bundle is refused; `reason` is a stable code, the message says why in plain words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_version(value: str) -> tuple[int, ...]:
    """Parse a dotted release version ('1.4.2') into a comparable tuple."""
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise Refused("malformed", f"version {value!r} is not dotted numbers like 1.4.2")
    parts = tuple(int(p) for p in value.split("."))
    return parts + (0,) * (4 - len(parts))


@dataclass(frozen=True)
class Manifest:
    """A verified manifest."""

    app: str
    version: str
    min_hub_version: str
    created_at: str
    files: dict[str, dict[str, Any]]

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse manifest bytes (after the signature was checked)."""
        try:
            doc = json.loads(data)
            files = doc["files"]
            man = cls(
                str(doc["app"]),
                str(doc["version"]),
                str(doc["min_hub_version"]),
                str(doc["created_at"]),
                {str(k): dict(v) for k, v in files.items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Refused("malformed", "the manifest is not a release manifest") from exc
        if doc.get("format") != 1:
            raise Refused("malformed", f"unknown manifest format {doc.get('format')!r}")
        parse_version(man.version)
        parse_version(man.min_hub_version)
        for name, entry in man.files.items():
            if not _NAME.fullmatch(name) or name in (MANIFEST, SIGNATURE):
                raise Refused("malformed", f"the manifest lists an unsafe file name {name!r}")
            if not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("size"), int):
                raise Refused("malformed", f"the manifest entry of {name} is incomplete")
        return man


def _digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def write_manifest(
    folder: Path, app: str, version: str, min_hub_version: str, key: Ed25519PrivateKey
) -> Manifest:
    """Write and sign the manifest of every file already in `folder`."""
    if app not in APPS:
        raise Refused("wrong_app", f"app must be one of {', '.join(APPS)}")
    parse_version(version)
    parse_version(min_hub_version)
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name in (MANIFEST, SIGNATURE):
            continue
        if not path.is_file() or not _NAME.fullmatch(path.name):
            raise Refused("malformed", f"{path.name} cannot go into a bundle (plain files only)")
        sha, size = _digest(path)
        files[path.name] = {"sha256": sha, "size": size}
    if not files:
        raise Refused("malformed", "a bundle needs at least one file (the app's wheel)")
    doc = {
        "format": 1,
        "app": app,
        "version": version,
        "min_hub_version": min_hub_version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
    }
    data = json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"
    (folder / MANIFEST).write_bytes(data)
    (folder / SIGNATURE).write_text(base64.b64encode(key.sign(CONTEXT + data)).decode() + "\n")
    return Manifest.from_bytes(data)


def verify_bundle(
    folder: Path,
    release_key: Ed25519PublicKey,
    *,
    app: str | None = None,
    installed_version: str | None = None,
    hub_version: str | None = None,
) -> Manifest:
    """Verify a bundle folder, or raise Refused with the reason; return its manifest."""
    try:
        data = (folder / MANIFEST).read_bytes()
    except OSError as exc:
        raise Refused("malformed", f"the bundle has no {MANIFEST}") from exc
    try:
        sig_text = (folder / SIGNATURE).read_text().strip()
    except (OSError, UnicodeDecodeError):
        sig_text = ""
    if not sig_text:
        raise Refused("unsigned", "the bundle is not signed (no manifest.sig)")
    try:
        release_key.verify(base64.b64decode(sig_text, validate=True), CONTEXT + data)
    except (ValueError, InvalidSignature) as exc:
        raise Refused(
            "bad_signature",
            "the manifest's signature does not verify with the branch's release key "
            "(signed by another key, or the manifest was edited)",
        ) from exc
    man = Manifest.from_bytes(data)
    if app is not None and man.app != app:
        raise Refused("wrong_app", f"this is a {man.app} release, not a {app} release")
    if installed_version is not None and parse_version(man.version) <= parse_version(
        installed_version
    ):
        raise Refused(
            "older",
            f"version {man.version} is not newer than the installed {installed_version}",
        )
    if hub_version is not None and parse_version(hub_version) < parse_version(man.min_hub_version):
        raise Refused(
            "hub_too_old", f"version {man.version} needs hub {man.min_hub_version} or newer"
        )
    present = {p.name for p in folder.iterdir()} - {MANIFEST, SIGNATURE}
    extra = present - set(man.files)
    if extra:
        raise Refused(
            "tampered", f"the bundle holds files its manifest does not list: {sorted(extra)}"
        )
    for name, entry in sorted(man.files.items()):
        path = folder / name
        if not path.is_file():
            raise Refused("tampered", f"{name} listed in the manifest is missing")
        sha, size = _digest(path)
        if sha != entry["sha256"] or size != entry["size"]:
            raise Refused("tampered", f"{name} does not match its SHA-256 in the manifest")
    return man
