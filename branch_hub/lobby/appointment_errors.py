"""What a same-day booking at the branch refuses (mapped in branch_hub/api/errors.py)."""

from __future__ import annotations

from branch_hub.lobby.errors import LobbyError

__all__ = [
    "AppointmentInPast",
    "AppointmentOutsideHours",
    "AppointmentOverlap",
    "AppointmentWindow",
    "UnknownCustomer",
]


class UnknownCustomer(LobbyError):
    """The visit's customer is not one the branch knows (a walk-in)."""


class AppointmentWindow(LobbyError):
    """The window does not end after it starts."""


class AppointmentInPast(LobbyError):
    """The window has already ended."""


class AppointmentOverlap(LobbyError):
    """The customer already has an appointment in that window."""


class AppointmentOutsideHours(LobbyError):
    """The window is not inside the branch's opening hours today (or the branch is closed)."""
