"""The security package's exception tree."""

from __future__ import annotations

__all__ = [
    "AccountDisabled",
    "AccountLocked",
    "AuditError",
    "EnrolmentError",
    "LoginFailed",
    "SecurityError",
    "StaffError",
]


class SecurityError(Exception):
    """Base of every error raised by branch_hub.security."""


class StaffError(SecurityError):
    """A staff account operation is invalid (unknown id, bad role, weak PIN, duplicate)."""


class LoginFailed(SecurityError):
    """The staff id or the PIN/password is wrong."""


class AccountLocked(LoginFailed):
    """Too many wrong PINs: the account is locked until `until` (epoch seconds)."""

    def __init__(self, until: float, now: float) -> None:
        minutes = max(1, round((until - now) / 60))
        super().__init__(
            f"too many wrong PINs: this account is locked for about {minutes} more minute(s)"
        )
        self.until = until


class AccountDisabled(LoginFailed):
    """The account was disabled by branch IT."""


class EnrolmentError(SecurityError):
    """An enrolment request is invalid (unknown, used or expired code; bad CSR)."""


class AuditError(SecurityError):
    """The audit log is broken: an entry was edited, deleted or reordered."""
