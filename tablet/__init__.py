"""The staff app for tablets and counter PCs: live arrivals, customer briefs, calling, outcomes."""

from __future__ import annotations

from tablet.controller import Tablet
from tablet.device import DeviceStore, EnrolmentError, parse_enrolment_code
from tablet.state import Arrival, LiveBoard, TabletState, screen_for

__all__ = [
    "Arrival",
    "DeviceStore",
    "EnrolmentError",
    "LiveBoard",
    "Tablet",
    "TabletState",
    "parse_enrolment_code",
    "screen_for",
]
