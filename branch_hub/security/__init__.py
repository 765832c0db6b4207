"""Security of the hub: staff accounts and sessions, roles, device checks, audit log."""

from __future__ import annotations

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
    "verify_secret",
]
