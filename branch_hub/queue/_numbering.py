"""Ticket numbers and the business day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = ["business_day", "format_number", "ticket_id"]


def business_day(now: datetime, zone: ZoneInfo) -> date:
    """Return the branch's business day (its local calendar date) at an aware instant."""
    return now.astimezone(zone).date()


def format_number(prefix: str, ordinal: int) -> str:
    """Format a ticket number: prefix and at least 3 digits (A007, A999, then A1000)."""
    return f"{prefix}{ordinal:03d}"


def ticket_id(day: date, number: str) -> str:
    """Return the ticket id, unique across days: '20260314-A012'."""
    return f"{day:%Y%m%d}-{number}"
