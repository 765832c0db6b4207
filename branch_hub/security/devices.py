"""The device registry: which certificate each enrolled device holds, and which are revoked.

Every request is checked against it (not only against a CRL), so a revocation made by
`branch-provision revoke` in another process takes effect on the hub's next request.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from branch_hub.migrations import Migrations, add_column_if_missing, migrate, use_wal
from branch_hub.pki import ca_fingerprint
from branch_hub.security.errors import EnrolmentError
from branch_hub.security.roles import DEVICE_KINDS

__all__ = ["DEVICE_ID", "Device", "DeviceRegistry", "check_device_id"]

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    serial TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    not_after TEXT NOT NULL,
    enrolled_at REAL NOT NULL,
    revoked_at REAL,
    previous_serial TEXT
);
"""
# Steps for registries made by older versions (the table above is the current shape).
MIGRATIONS = Migrations("devices")
MIGRATIONS(name="devices.previous_serial")(add_column_if_missing("devices", "previous_serial", str))
_INSERT = (
    "INSERT OR REPLACE INTO devices (device_id, kind, serial, fingerprint, not_after, enrolled_at, "
    "revoked_at, previous_serial) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)"
)
_SELECT_ALL = (
    "SELECT device_id, kind, serial, fingerprint, not_after, enrolled_at, revoked_at, "
    "previous_serial FROM devices ORDER BY device_id"
)
_SELECT_ONE = (
    "SELECT device_id, kind, serial, fingerprint, not_after, enrolled_at, revoked_at, "
    "previous_serial FROM devices WHERE device_id = ?"
)


@dataclass(frozen=True)
class Device:
    """An enrolled device and the certificate it holds."""

    device_id: str
    kind: str
    serial: str  # uppercase hex, as ssl's getpeercert() reports serialNumber
    fingerprint: str
    not_after: str
    enrolled_at: float
    revoked_at: float | None
    # The certificate a renewal replaced: still admitted until the device first presents the new
    # one, so a device that dies before saving its renewed certificate is not locked out.
    previous_serial: str | None = None

    @property
    def active(self) -> bool:
        """True unless revoked."""
        return self.revoked_at is None


def check_device_id(device_id: str, kind: str) -> None:
    """Raise EnrolmentError for an unusable device id or kind."""
    if not DEVICE_ID.fullmatch(device_id):
        raise EnrolmentError(
            f"device id {device_id!r} must be 1-32 letters, digits, '_' or '-' (e.g. K1, TAB-03)"
        )
    if kind not in DEVICE_KINDS:
        raise EnrolmentError(
            f"unknown device kind {kind!r} (expected one of {', '.join(sorted(DEVICE_KINDS))})"
        )


def serial_hex(cert: x509.Certificate) -> str:
    """A certificate's serial number the way ssl.getpeercert() prints it."""
    text = f"{cert.serial_number:X}"
    return text if len(text) % 2 == 0 else "0" + text


class DeviceRegistry:
    """Enrolled devices of one branch (SQLite in the hub's security folder)."""

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            db_path, timeout=30, check_same_thread=False, isolation_level=None
        )
        use_wal(self._db)
        self._db.executescript(_SCHEMA)
        migrate(self._db, MIGRATIONS)
        self._lock = threading.Lock()
        self._cache: dict[str, Device] = {}
        self._cache_marker = (-1, -1)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def register(self, device_id: str, kind: str, cert: x509.Certificate) -> Device:
        """Record a device's new certificate (a re-enrolment replaces the old one)."""
        check_device_id(device_id, kind)
        not_after = cert.not_valid_after_utc.isoformat()
        with self._lock:
            self._db.execute(
                _INSERT,
                (device_id, kind, serial_hex(cert), ca_fingerprint(cert), not_after, time.time()),
            )
        return self.get(device_id)

    def renew(self, device_id: str, presented_serial: str, cert: x509.Certificate) -> Device:
        """Make `cert` current; the presented one is admitted until `cert` is first used."""
        with self._lock:
            done = self._db.execute(
                "UPDATE devices SET serial = ?, fingerprint = ?, not_after = ?, previous_serial = ? "
                "WHERE device_id = ? AND revoked_at IS NULL",
                (
                    serial_hex(cert),
                    ca_fingerprint(cert),
                    cert.not_valid_after_utc.isoformat(),
                    presented_serial.upper(),
                    device_id,
                ),
            ).rowcount
        if not done:
            raise EnrolmentError(f"no active device {device_id!r}")
        return self.get(device_id)

    def _first_use(self, device_id: str, serial: str) -> None:
        """The renewed certificate was presented: the one it replaced is refused from now on."""
        with self._lock:
            self._db.execute(
                "UPDATE devices SET previous_serial = NULL WHERE device_id = ? AND serial = ?",
                (device_id, serial),
            )

    def get(self, device_id: str) -> Device:
        """Return a device or raise EnrolmentError."""
        row = self._db.execute(_SELECT_ONE, (device_id,)).fetchone()
        if row is None:
            raise EnrolmentError(f"no enrolled device {device_id!r}")
        return Device(*row)

    def list(self) -> list[Device]:
        """All devices, by id."""
        rows = self._db.execute(_SELECT_ALL)
        return [Device(*r) for r in rows]

    def revoke(self, device_id: str) -> Device:
        """Mark a device revoked; its certificate is refused from the next request on."""
        self.get(device_id)
        with self._lock:
            self._db.execute(
                "UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                (time.time(), device_id),
            )
        return self.get(device_id)

    def marker(self) -> tuple[int, int]:
        """A value that changes whenever the database changes (also by another process)."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        return int(version), self._db.total_changes

    def admits(self, device_id: str | None, kind: str | None, serial: str | None) -> str | None:
        """Return None when this exact certificate belongs to an active device, else why not."""
        if device_id is None or serial is None:
            return "no_certificate"
        with self._lock:
            marker = self.marker()
            if marker != self._cache_marker or device_id not in self._cache:
                self._cache = {d.device_id: d for d in self.list()}
                self._cache_marker = marker
        device = self._cache.get(device_id)
        if device is None:
            return "unknown_device"
        if not device.active:
            return "revoked"
        if device.kind != kind:
            return "replaced"
        if device.serial == serial.upper():
            if device.previous_serial is not None:
                self._first_use(device_id, device.serial)
            return None
        if device.previous_serial == serial.upper():
            return None  # renewed, but the device has not used its new certificate yet
        return "replaced"  # an older certificate of a re-enrolled or renewed device

    def revoked_ids(self) -> set[str]:
        """Ids of revoked devices."""
        return {d.device_id for d in self.list() if not d.active}
