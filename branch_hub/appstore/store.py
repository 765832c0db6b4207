"""The hub's side of the app store: verified releases, channels, device/group assignment, reports.

Layout under the store folder: `release.pub` (the release key the hub trusts), `releases/<app>/
<version>/` (verified bundles, immutable) and `appstore.db` (channels, assignments, groups and
device reports). A device gets its own channel if assigned, else its group's, else `stable`.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from branch_hub.appstore.bundle import (
    APPS,
    MANIFEST,
    SIGNATURE,
    Manifest,
    Refused,
    parse_version,
    verify_bundle,
)
from branch_hub.vocabulary import (
    REPORT_DETAIL_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    REPORT_VERSION_MAX_CHARS,
)

__all__ = ["CHANNELS", "AppStore", "AppStoreError"]

CHANNELS = ("stable", "canary")
EVENTS = ("installed", "refused", "rolled_back")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    app TEXT NOT NULL, channel TEXT NOT NULL, version TEXT NOT NULL, set_at TEXT NOT NULL,
    PRIMARY KEY (app, channel)
);
CREATE TABLE IF NOT EXISTS assignments (
    target_kind TEXT NOT NULL, target TEXT NOT NULL, channel TEXT NOT NULL,
    PRIMARY KEY (target_kind, target)
);
CREATE TABLE IF NOT EXISTS reports (
    at TEXT NOT NULL, device_id TEXT NOT NULL, app TEXT NOT NULL, version TEXT,
    event TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL
);
"""


class AppStoreError(Exception):
    """A channel operation is refused (unknown channel, unknown release, no trusted key)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AppStore:
    """Releases and channels of one hub (thread-safe)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            folder / "appstore.db", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # ---- trust ---------------------------------------------------------------------------
    def trust(self, public_pem: bytes) -> None:
        """Install the release public key the hub checks bundles against."""
        key = serialization.load_pem_public_key(public_pem)
        if not isinstance(key, Ed25519PublicKey):
            raise AppStoreError("the release key must be an Ed25519 public key")
        (self.folder / "release.pub").write_bytes(public_pem)

    def release_key(self) -> Ed25519PublicKey:
        """The trusted release key."""
        try:
            key = serialization.load_pem_public_key((self.folder / "release.pub").read_bytes())
        except (OSError, ValueError) as exc:
            raise AppStoreError(
                f"no trusted release key in {self.folder} (run 'branch-provision channel trust')"
            ) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise AppStoreError("the trusted release key is not Ed25519")
        return key

    # ---- releases ------------------------------------------------------------------------
    def _release_dir(self, app: str, version: str) -> Path:
        return self.folder / "releases" / app / version

    def publish(self, bundle: Path, channel: str, hub_version: str | None = None) -> Manifest:
        """Verify a bundle, keep a copy and point `channel` at it (never backwards)."""
        self._channel(channel)
        man = verify_bundle(bundle, self.release_key(), hub_version=hub_version)
        current = self.channel_version(man.app, channel)
        if current is not None and parse_version(man.version) < parse_version(current):
            raise Refused(
                "older", f"{channel} already has {man.app} {current}; {man.version} is older"
            )
        dest = self._release_dir(man.app, man.version)
        if not dest.is_dir():
            staging = dest.with_name(f".{man.version}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            for name in [MANIFEST, SIGNATURE, *man.files]:
                shutil.copy2(bundle / name, staging / name)
            staging.rename(dest)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO channels VALUES (?, ?, ?, ?)",
                (man.app, channel, man.version, _now()),
            )
        return man

    def channel_version(self, app: str, channel: str) -> str | None:
        """The version a channel points at."""
        with self._lock:
            row = self._db.execute(
                "SELECT version FROM channels WHERE app = ? AND channel = ?", (app, channel)
            ).fetchone()
        return str(row[0]) if row else None

    @staticmethod
    def _channel(channel: str) -> None:
        if channel not in CHANNELS:
            raise AppStoreError(f"unknown channel {channel!r} (expected {' or '.join(CHANNELS)})")

    # ---- assignment ----------------------------------------------------------------------
    def assign(self, channel: str, *, device: str | None = None, group: str | None = None) -> None:
        """Put a device or a group on a channel."""
        self._channel(channel)
        if (device is None) == (group is None):
            raise AppStoreError("assign either a device or a group")
        kind, target = ("device", device) if device else ("group", group)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO assignments VALUES (?, ?, ?)", (kind, target, channel)
            )

    def set_group(self, device: str, group: str | None) -> None:
        """Make a device a member of a group (None: of no group)."""
        with self._lock:
            if group is None:
                self._db.execute(
                    "DELETE FROM assignments WHERE target_kind = 'member' AND target = ?",
                    (device,),
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO assignments VALUES ('member', ?, ?)", (device, group)
                )

    def channel_for(self, device: str) -> str:
        """The channel a device follows: its own, else its group's, else stable."""
        with self._lock:
            rows = dict(
                self._db.execute(
                    "SELECT target_kind, channel FROM assignments WHERE target = ?"
                    " AND target_kind IN ('device', 'member')",
                    (device,),
                ).fetchall()
            )
            if "device" in rows:
                return str(rows["device"])
            if "member" in rows:
                grp = self._db.execute(
                    "SELECT channel FROM assignments WHERE target_kind = 'group' AND target = ?",
                    (rows["member"],),
                ).fetchone()
                if grp:
                    return str(grp[0])
        return "stable"

    def offer(self, app: str, device: str) -> dict[str, Any] | None:
        """What the device's channel offers for an app (None when nothing is published)."""
        if app not in APPS:
            raise AppStoreError(f"unknown app {app!r}")
        channel = self.channel_for(device)
        version = self.channel_version(app, channel)
        if version is None:
            return None
        man = Manifest.from_bytes((self._release_dir(app, version) / MANIFEST).read_bytes())
        return {
            "app": app,
            "version": version,
            "channel": channel,
            "min_hub_version": man.min_hub_version,
            "files": [MANIFEST, SIGNATURE, *sorted(man.files)],
        }

    def release_file(self, app: str, version: str, name: str) -> Path | None:
        """A file of a published release, only if its manifest lists it (no paths from clients).

        It reads the manifest from disk: call it from a worker thread, not the event loop.
        """
        if app not in APPS:
            return None
        try:
            parse_version(version)
        except Refused:
            return None
        folder = self._release_dir(app, version)
        try:
            man = Manifest.from_bytes((folder / MANIFEST).read_bytes())
        except (OSError, Refused):
            return None
        if name not in (MANIFEST, SIGNATURE, *man.files) or not (folder / name).is_file():
            return None
        return folder / name

    # ---- reports -------------------------------------------------------------------------
    def record_report(
        self, device: str, app: str, version: str | None, event: str, reason: str, detail: str
    ) -> None:
        """Store what a device reported."""
        if event not in EVENTS:
            raise AppStoreError(f"unknown report event {event!r}")
        if (
            len(version or "") > REPORT_VERSION_MAX_CHARS
            or len(reason) > REPORT_REASON_MAX_CHARS
            or len(detail) > REPORT_DETAIL_MAX_CHARS
        ):
            raise AppStoreError("a report field is longer than a report keeps")
        with self._lock:
            self._db.execute(
                "INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), device, app, version, event, reason, detail),
            )

    def reports(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest device reports, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, device_id, app, version, event, reason, detail FROM reports"
                " ORDER BY rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("at", "device_id", "app", "version", "event", "reason", "detail")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def summary(self) -> dict[str, Any]:
        """Channels and assignments, for `branch-provision channel show`."""
        with self._lock:
            channels = self._db.execute(
                "SELECT app, channel, version, set_at FROM channels ORDER BY app, channel"
            ).fetchall()
            assigned = self._db.execute(
                "SELECT target_kind, target, channel FROM assignments ORDER BY 1, 2"
            ).fetchall()
        return {
            "channels": [
                {"app": a, "channel": c, "version": v, "set_at": t} for a, c, v, t in channels
            ],
            "devices": {t: c for k, t, c in assigned if k == "device"},
            "groups": {t: c for k, t, c in assigned if k == "group"},
            "members": {t: c for k, t, c in assigned if k == "member"},
        }
