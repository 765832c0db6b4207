"""How tickets, dashboards and the kiosk menu look on the wire (no personal data)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from branch_hub.config import BranchConfig
from branch_hub.queue import Dashboard, Ticket, WaitEstimate

__all__ = ["TicketShown", "dashboard_wire", "staff_ticket", "ticket_view", "ticket_wire"]


@dataclass(frozen=True)
class TicketShown:
    """A ticket as the kiosk shows and prints it and tablets list it (no personal data)."""

    id: str
    number: str
    service: str
    service_zh: str
    service_en: str
    people_ahead: int
    wait_min: tuple[int, int]
    qr: str
    issued_at: str

    def to_wire(self) -> dict[str, Any]:
        """JSON form."""
        out = asdict(self)
        out["wait_min"] = list(self.wait_min)
        return out


def ticket_wire(config: BranchConfig, ticket: Ticket, estimate: WaitEstimate | None) -> TicketShown:
    """The ticket with its service's names and its wait as the one estimator gives it."""
    service = config.service(ticket.service)
    return TicketShown(
        id=ticket.id,
        number=ticket.number,
        service=service.code,
        service_zh=service.name_zh,
        service_en=service.name_en,
        people_ahead=estimate.ahead if estimate else 0,
        wait_min=estimate.whole_minutes() if estimate else (0, 0),
        qr=f"branch-edge:{config.branch.id}:{ticket.id}",
        issued_at=ticket.issued_at.isoformat(),
    )


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    """The ticket as staff lists show it."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "state": ticket.state.value,
        "counter_id": ticket.counter_id,
        "issued_at": ticket.issued_at.isoformat(),
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
    }


def staff_ticket(ticket: Ticket | None) -> dict[str, Any]:
    """A counter operation's answer: the ticket it acted on, with its visit."""
    if ticket is None:
        return {"ticket": None}
    return {"ticket": ticket_view(ticket) | {"visit_id": ticket.visit_ref}}


def dashboard_wire(board: Dashboard) -> dict[str, Any]:
    """The lobby manager's dashboard as JSON."""
    return {
        "at": board.at.isoformat(),
        "day": board.day.isoformat() if board.day else None,
        "services": [
            {
                "service": s.service,
                "waiting_priority": s.waiting_priority,
                "waiting_ordinary": s.waiting_ordinary,
                "longest_wait_min": s.longest_wait_min,
                "median_service_min": s.median_service_min,
                "p80_service_min": s.p80_service_min,
            }
            for s in board.services
        ],
        "counters": [
            {
                "counter_id": c.counter_id,
                "number": c.number,
                "open": c.open,
                "current": ticket_view(c.current) if c.current else None,
                "reserved_waiting": c.reserved_waiting,
            }
            for c in board.counters
        ],
        "current_calls": [ticket_view(t) for t in board.current_calls],
        "parked": board.parked,
        "longest_wait_min": board.longest_wait_min,
    }
