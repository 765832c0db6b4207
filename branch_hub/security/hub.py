"""The hub's security state in one object: staff, sessions, devices, enrolment, audit."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from branch_hub.alerts import HubAlerts
from branch_hub.pki import CertifiedKey
from branch_hub.security.audit import AuditLog
from branch_hub.security.connections import DeviceConnections
from branch_hub.security.devices import Device, DeviceRegistry
from branch_hub.security.enrolment import EnrolmentCodes
from branch_hub.security.hashing import SecretHashing
from branch_hub.security.lockouts import Throttle, enrol_throttle, login_throttle
from branch_hub.security.renewal import Renewals
from branch_hub.security.sessions import SessionStore
from branch_hub.security.staff import StaffStore
from branch_hub.security.streams import StaffStreams

__all__ = ["ATTACK_WATCH_S", "SESSION_WATCH_S", "HubSecurity", "security_folder"]

# How often a raised login or enrolment attack alert is looked at again when no attempt comes.
ATTACK_WATCH_S = 5.0
# How often idle sessions and accounts disabled by another process are looked for: a staff
# stream of such a session closes within this (plus a worker thread's hop).
SESSION_WATCH_S = 0.25

log = logging.getLogger("branch_hub.security")


def security_folder(data_dir: Path) -> Path:
    """Where the hub keeps staff, devices, codes and the audit log."""
    return data_dir / "security"


@dataclass
class HubSecurity:
    """Everything the context middleware and the security routes need."""

    staff: StaffStore
    sessions: SessionStore
    audit: AuditLog
    devices: DeviceRegistry
    codes: EnrolmentCodes
    ca: CertifiedKey | None = None
    enrol_throttle: Throttle = field(default_factory=enrol_throttle)  # by source address
    login_throttle: Throttle = field(default_factory=login_throttle)  # by device
    connections: DeviceConnections = field(default_factory=DeviceConnections)
    renewals: Renewals = field(default_factory=Renewals)
    streams: StaffStreams = field(default_factory=StaffStreams)
    hashing: SecretHashing = field(default_factory=SecretHashing)  # PIN checks' own pool

    def __post_init__(self) -> None:
        self.sessions.on_end = self.streams.sessions_ended

    @classmethod
    def open(
        cls, data_dir: Path, idle_timeout_s: float = 900.0, ca: CertifiedKey | None = None
    ) -> HubSecurity:
        """Open the stores under `data_dir/security` (created, mode 0700, on first use)."""
        folder = security_folder(data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        return cls(
            staff=StaffStore(folder / "staff.db"),
            sessions=SessionStore(idle_timeout_s),
            audit=AuditLog.open(folder),
            devices=DeviceRegistry(folder / "devices.db"),
            codes=EnrolmentCodes(folder / "devices.db"),
            ca=ca,
        )

    def close(self) -> None:
        """Close the databases."""
        self.staff.close()
        self.audit.close()
        self.devices.close()
        self.codes.close()

    def cut_off(self, device_id: str) -> int:
        """End a device's sessions and close its open connections; return connections closed."""
        self.sessions.end_for_device(device_id)
        return self.connections.close_device(device_id)

    async def revoke(self, device_id: str, by_staff: str | None = None) -> Device:
        """Revoke a device: refused from now on, its connections closed at once, audited."""
        # The registry and the audit chain are files: written in a worker thread; the
        # connections are the loop's, cut on it.
        loop = asyncio.get_running_loop()
        device = await loop.run_in_executor(None, self.devices.revoke, device_id)
        closed = self.cut_off(device_id)
        await loop.run_in_executor(
            None,
            lambda: self.audit.record(
                "revocation", staff_id=by_staff, subject=device_id, detail={"closed": closed}
            ),
        )
        return device

    async def watch_revocations(self, interval_s: float = 1.0) -> None:
        """Close connections of devices revoked by another process (branch-provision revoke)."""
        # The registry is a SQLite file: read in a worker thread; connections are cut on the loop.
        loop = asyncio.get_running_loop()
        marker = await loop.run_in_executor(None, self.devices.marker)
        while True:
            await asyncio.sleep(interval_s)
            current = await loop.run_in_executor(None, self.devices.marker)
            if current == marker:
                continue
            marker = current
            revoked = await loop.run_in_executor(None, self.devices.revoked_ids)
            for device_id in revoked & self.connections.devices():
                closed = self.cut_off(device_id)
                log.info("device %s revoked: closed %d connection(s)", device_id, closed)

    async def watch_attacks(self, alerts: HubAlerts, interval_s: float = ATTACK_WATCH_S) -> None:
        """Clear an attack alert once the failures fell under the ceiling, attempts or not."""
        while True:
            await asyncio.sleep(interval_s)
            for throttle in (self.login_throttle, self.enrol_throttle):
                await throttle.sound(alerts, self.audit)

    async def watch_sessions(self, interval_s: float = SESSION_WATCH_S) -> None:
        """End idle sessions and those of disabled accounts (also disabled by another process)."""
        # An open stream is not activity: only requests keep a session alive. The staff file is
        # read in a worker thread (only when it changed); ended sessions close their streams.
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval_s)
            try:
                await loop.run_in_executor(None, self._end_stale_sessions)
            except sqlite3.Error as exc:
                log.warning("session watch could not read the staff accounts: %s", exc)

    def _end_stale_sessions(self) -> None:
        self.sessions.end_idle()
        for staff_id in self.sessions.staff_ids():
            if self.staff.is_disabled(staff_id):
                self.sessions.end_for_staff(staff_id)
