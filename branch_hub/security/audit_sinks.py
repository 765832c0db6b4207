"""What handlers write to: the audit sink protocols and a sink that keeps nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from branch_hub.security.audit_fields import Caller, Detail, PendingAudit, prepare_entry

__all__ = ["AuditSink", "AuditWriter", "NullAudit"]


class AuditSink(Protocol):
    """What handlers call: `hub.audit.record(action, ctx=..., customer_id=..., subject=...)`."""

    def record(
        self,
        action: str,
        *,
        ctx: Caller | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> object:
        """Check one entry and hand it in to be appended."""
        ...


class AuditWriter(AuditSink, Protocol):
    """A sink whose entries can be kept elsewhere first and handed in (again) later."""

    def prepare(
        self,
        action: str,
        *,
        ctx: Caller | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> PendingAudit:
        """Check one entry and give it its entry id and time, without handing it in."""
        ...

    def record_entry(self, entry: PendingAudit) -> str:
        """Hand in a prepared entry (again); return its entry id."""
        ...

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until every entry handed in so far is written."""
        ...

    def chained(self, entry_ids: Iterable[str]) -> set[str]:
        """Which of these entries are in the chain (kept copies of those can go)."""
        ...


class NullAudit:
    """An audit sink that keeps nothing (a hub built without security, in unit tests)."""

    def record(
        self,
        action: str,
        *,
        ctx: Caller | None = None,
        device_id: str | None = None,
        staff_id: str | None = None,
        customer_id: str | None = None,
        subject: str | None = None,
        detail: Detail | None = None,
    ) -> None:
        """Discard the entry."""

    # Checks the entry as the real log would, so unit tests catch bad fields.
    prepare = staticmethod(prepare_entry)

    def record_entry(self, entry: PendingAudit) -> str:
        """Discard a prepared entry."""
        return entry.entry_id

    def flush(self, timeout: float | None = 30.0) -> None:
        """Nothing is pending."""

    def chained(self, entry_ids: Iterable[str]) -> set[str]:
        """Every entry counts as done: nothing is kept."""
        return set(entry_ids)
