"""The lobby: arrivals at kiosk stations, kiosk sessions, visits, briefs, staff and counter work."""

from __future__ import annotations

from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.counters import Counters
from branch_hub.lobby.devices import StationDevices
from branch_hub.lobby.errors import LobbyError
from branch_hub.lobby.sessions import KioskSession, KioskSessions
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.lobby.tickets import PrintOutcome
from branch_hub.lobby.visits import Visit, VisitError, VisitStore
from branch_hub.lobby.wire import ticket_wire

__all__ = [
    "Briefing",
    "Counters",
    "KioskSession",
    "KioskSessions",
    "Lobby",
    "LobbyError",
    "PrintOutcome",
    "StaffDesk",
    "StationDevices",
    "Visit",
    "VisitError",
    "VisitStore",
    "ticket_wire",
]
