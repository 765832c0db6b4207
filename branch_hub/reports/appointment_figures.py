"""The report's appointments: booked, checked in (early, on time, late), missed and no-shows.

Counts only. An appointment nobody checked in by window_end + `[appointments] late_min` is a
no-show whether or not the hub's sweep has marked it yet (computed here, at report time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from branch_hub.lobby.appointment_book import Appointment
from branch_hub.vocabulary import AppointmentArrival, AppointmentStatus

__all__ = ["AppointmentTally"]


class AppointmentTally:
    """Appointments of the period's days, counted."""

    def __init__(self, now_local: datetime, late_min: int) -> None:
        self.now = now_local
        self.late = timedelta(minutes=late_min)
        self.arrivals: Counter[str] = Counter()
        self.channels: Counter[str] = Counter()
        self.booked = self.no_show = self.pending = 0

    def add_day(self, appointments: Iterable[Appointment]) -> None:
        """Count one day's appointments."""
        for a in appointments:
            self.booked += 1
            self.channels[a.channel] += 1
            if a.arrival:
                self.arrivals[a.arrival] += 1
            elif a.status == AppointmentStatus.NO_SHOW or self.now > a.end + self.late:
                self.no_show += 1
            else:
                self.pending += 1

    def figures(self) -> dict[str, Any]:
        """The report's `appointments` object."""
        checked = {
            str(kind): self.arrivals[kind]
            for kind in (
                AppointmentArrival.EARLY,
                AppointmentArrival.ON_TIME,
                AppointmentArrival.LATE,
            )
        }
        return {
            "appointments": {
                "booked": self.booked,
                "checked_in": checked,
                "missed": self.arrivals[AppointmentArrival.MISSED],
                "no_show": self.no_show,
                "pending": self.pending,
                "by_channel": dict(sorted(self.channels.items())),
            }
        }
