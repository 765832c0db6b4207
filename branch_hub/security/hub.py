"""The hub's security state in one object: staff, sessions, devices, audit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from branch_hub.security.audit import AuditLog
from branch_hub.security.sessions import SessionStore
from branch_hub.security.staff import StaffStore

__all__ = ["HubSecurity"]


@dataclass
class HubSecurity:
    """Everything the context middleware and the security routes need."""

    staff: StaffStore
    sessions: SessionStore
    audit: AuditLog

    @classmethod
    def open(cls, data_dir: Path, idle_timeout_s: float = 900.0) -> HubSecurity:
        """Open the stores under `data_dir/security` (created on first use)."""
        folder = data_dir / "security"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        return cls(
            staff=StaffStore(folder / "staff.db"),
            sessions=SessionStore(idle_timeout_s),
            audit=AuditLog.open(folder),
        )

    def close(self) -> None:
        """Close the databases."""
        self.staff.close()
        self.audit.close()
