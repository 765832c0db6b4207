"""The security package's exception tree."""

from __future__ import annotations

__all__ = [
    "AccountDisabled",
    "AccountLocked",
    "AuditAnchorInvalid",
    "AuditChainBroken",
    "AuditError",
    "AuditHeadForged",
    "AuditRolledBack",
    "AuditTruncated",
    "AuditUnprovable",
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
    """The audit log is broken or cannot be written; subclasses say how (`reason`, exit code)."""

    reason = "broken"
    exit_code = 1

    def __init__(self, message: str, message_zh: str = "审计日志异常") -> None:
        super().__init__(message)
        self.message_zh = message_zh


class AuditChainBroken(AuditError):
    """An entry was edited, deleted from the middle or reordered: its chain MAC fails."""

    reason = "broken_chain"


class AuditTruncated(AuditError):
    """Entries were cut off the end: the signed head records more than the log holds."""

    reason = "truncated"
    exit_code = 3


class AuditHeadForged(AuditError):
    """The head file is not signed by the hub's head key."""

    reason = "forged_head"
    exit_code = 4


class AuditUnprovable(AuditError):
    """There is no head (an emptied log, or a deleted head): completeness cannot be proven."""

    reason = "no_head"
    exit_code = 5


class AuditRolledBack(AuditError):
    """The log ends before (or differs at) a head HQ holds: an older copy was restored."""

    reason = "rolled_back"
    exit_code = 6


class AuditAnchorInvalid(AuditError):
    """An anchor given to verify was not made by this hub's head key."""

    reason = "bad_anchor"
    exit_code = 7
