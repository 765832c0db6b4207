"""The lobby: arrivals at kiosk stations, kiosk sessions, visits, briefs and staff operations."""

from __future__ import annotations

from branch_hub.lobby.access import require_kiosk, require_staff
from branch_hub.lobby.arrival import Lobby, PrintOutcome, ticket_wire
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.devices import StationDevices
from branch_hub.lobby.sessions import KioskSession, KioskSessions
from branch_hub.lobby.setup import open_lobby
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.lobby.visits import Visit, VisitError, VisitStore

__all__ = [
    "Briefing",
    "KioskSession",
    "KioskSessions",
    "Lobby",
    "PrintOutcome",
    "StaffDesk",
    "StationDevices",
    "Visit",
    "VisitError",
    "VisitStore",
    "open_lobby",
    "require_kiosk",
    "require_staff",
    "ticket_wire",
]
