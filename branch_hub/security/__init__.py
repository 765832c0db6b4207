"""Security of the hub: staff accounts and sessions, roles, device checks, audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from branch_hub.security.audit import AuditEntry, AuditLog, AuditSink, NullAudit
from branch_hub.security.errors import (
    AccountDisabled,
    AccountLocked,
    AuditError,
    EnrolmentError,
    LoginFailed,
    SecurityError,
    StaffError,
)
from branch_hub.security.hub import HubSecurity
from branch_hub.security.passwords import hash_secret, verify_secret
from branch_hub.security.roles import DEVICE_KINDS, ROLES, STAFF_DEVICE_KINDS
from branch_hub.security.sessions import Session, SessionStore
from branch_hub.security.staff import StaffAccount, StaffStore

if TYPE_CHECKING:
    from branch_hub.security.guard import require

__all__ = [
    "DEVICE_KINDS",
    "ROLES",
    "STAFF_DEVICE_KINDS",
    "AccountDisabled",
    "AccountLocked",
    "AuditEntry",
    "AuditError",
    "AuditLog",
    "AuditSink",
    "EnrolmentError",
    "HubSecurity",
    "LoginFailed",
    "NullAudit",
    "SecurityError",
    "Session",
    "SessionStore",
    "StaffAccount",
    "StaffError",
    "StaffStore",
    "hash_secret",
    "require",
    "verify_secret",
]


def __getattr__(name: str) -> Any:
    # guard imports branch_hub.server, which imports this package: load it on first use.
    if name == "require":
        from branch_hub.security.guard import require

        return require
    raise AttributeError(name)
