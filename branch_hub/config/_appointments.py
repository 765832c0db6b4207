"""Appointments: how early and how late a booked customer still checks in on their booking."""

from __future__ import annotations

from pydantic import Field

from branch_hub.config._strict import Strict

__all__ = ["AppointmentSettings"]


class AppointmentSettings(Strict):
    """The check-in window around a booked appointment's window."""

    early_min: int = Field(
        default=15,
        ge=0,
        le=240,
        description="Minutes before an appointment's window_start that a read at the kiosk "
        "already checks the customer in (a reserved ticket).",
    )
    late_min: int = Field(
        default=15,
        ge=0,
        le=240,
        description="Minutes after an appointment's window_end that a read still checks the "
        "customer in; later they get an ordinary ticket and the appointment is a no-show.",
    )
    sweep_interval_s: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="Seconds between the hub's checks for appointments past window_end + "
        "late_min that nobody checked in (marked no_show).",
    )
