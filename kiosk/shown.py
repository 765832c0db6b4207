"""What the kiosk's screens show of the hub's answers: the menu, a greeting, an issued ticket.

Built from the client's typed models (`from_offer`, `from_model`, `from_issued`); the lenient
`from_wire` parsers are for tools and tests and raise `BadAnswer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client import models as wire

__all__ = ["BadAnswer", "Greeting", "Menu", "ServiceOption", "Ticket"]


class BadAnswer(ValueError):
    """The hub's answer does not have the shape the API contract promises."""


def _minutes_range(value: Any) -> tuple[int, int]:
    """A [lo, hi] minutes pair; anything else counts as unknown (0, 0)."""
    if isinstance(value, list | tuple) and len(value) == 2:
        try:
            return int(value[0]), int(value[1])
        except (TypeError, ValueError):
            return 0, 0
    return 0, 0


@dataclass(frozen=True)
class ServiceOption:
    """One service on the menu with its queue figures."""

    code: str
    name_zh: str
    name_en: str
    prefix: str
    waiting: int
    wait_min: tuple[int, int]


@dataclass(frozen=True)
class Menu:
    """The branch and its services as the menu screen shows them."""

    branch_zh: str
    branch_en: str
    services: tuple[ServiceOption, ...]

    @classmethod
    def from_wire(cls, body: Any) -> Menu:
        """Parse menu JSON leniently; raise BadAnswer (a ValueError) on a shape it cannot use."""
        if not isinstance(body, dict):
            raise BadAnswer("menu is not a JSON object")
        branch = body.get("branch") or {}
        services = []
        for item in body.get("services") or []:
            if not isinstance(item, dict) or "code" not in item:
                raise BadAnswer("menu service without a code")
            services.append(
                ServiceOption(
                    code=str(item["code"]),
                    name_zh=str(item.get("name_zh", item["code"])),
                    name_en=str(item.get("name_en", item["code"])),
                    prefix=str(item.get("prefix", "")),
                    waiting=int(item.get("waiting", 0)),
                    wait_min=_minutes_range(item.get("wait_min")),
                )
            )
        return cls(str(branch.get("name_zh", "")), str(branch.get("name_en", "")), tuple(services))

    @classmethod
    def from_offer(cls, menu: wire.Menu) -> Menu:
        """The screen's menu from the hub's typed menu."""
        services = tuple(
            ServiceOption(s.code, s.name_zh, s.name_en, s.prefix, s.waiting, s.wait_min)
            for s in menu.services
        )
        return cls(menu.branch.name_zh, menu.branch.name_en, services)


@dataclass(frozen=True)
class Greeting:
    """What the kiosk may say to a recognised customer: a salutation and a priority flag only."""

    salutation_zh: str
    salutation_en: str
    priority: bool
    tier_zh: str = ""
    tier_en: str = ""

    @classmethod
    def from_wire(cls, body: Any) -> Greeting | None:
        """Parse the session's greeting object (None when absent)."""
        if not isinstance(body, dict):
            return None
        return cls(
            salutation_zh=str(body.get("salutation_zh") or ""),
            salutation_en=str(body.get("salutation_en") or ""),
            priority=bool(body.get("priority")),
            tier_zh=str(body.get("tier_zh") or ""),
            tier_en=str(body.get("tier_en") or ""),
        )

    @classmethod
    def from_model(cls, greeting: wire.Greeting | None) -> Greeting | None:
        """The screen's greeting from the hub's typed one (None when absent)."""
        if greeting is None:
            return None
        return cls(
            greeting.salutation_zh,
            greeting.salutation_en,
            greeting.priority,
            greeting.tier_zh or "",
            greeting.tier_en or "",
        )


@dataclass(frozen=True)
class Ticket:
    """A ticket the hub issued, and whether it printed."""

    number: str
    service_zh: str
    service_en: str
    people_ahead: int
    wait_min: tuple[int, int]
    qr: str
    print_problem: str | None

    @classmethod
    def from_wire(cls, body: Any) -> Ticket:
        """Parse a ticket answer leniently; raise BadAnswer (a ValueError) on a wrong shape."""
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            raise BadAnswer("ticket answer carries no ticket")
        t = body["ticket"]
        raw_print = body.get("print")
        printed: dict[str, Any] = raw_print if isinstance(raw_print, dict) else {}
        if "number" not in t:
            raise BadAnswer("ticket without a number")
        problem = None
        if not printed.get("ok", False):
            problem = str(printed.get("problem") or "error")
        return cls(
            number=str(t["number"]),
            service_zh=str(t.get("service_zh", "")),
            service_en=str(t.get("service_en", "")),
            people_ahead=int(t.get("people_ahead", 0)),
            wait_min=_minutes_range(t.get("wait_min")),
            qr=str(t.get("qr") or t["number"]),
            print_problem=problem,
        )

    @classmethod
    def from_issued(cls, issued: wire.TicketIssued) -> Ticket:
        """The screen's ticket from the hub's typed answer."""
        t = issued.ticket
        problem = None if issued.printed.ok else str(issued.printed.problem or "error")
        return cls(
            t.number,
            t.service_zh,
            t.service_en,
            t.people_ahead,
            t.wait_min,
            t.qr or t.number,
            problem,
        )


@dataclass(frozen=True)
class Booking:
    """A booked customer's check-in: the booked time and service and how it went."""

    time: str
    service_zh: str
    service_en: str
    arrival: str  # early | on_time | late | missed
    reserved: bool
    repeated: bool

    @classmethod
    def from_wire(cls, body: Any) -> tuple[Booking, Ticket] | None:
        """Parse the session's `appointment` object leniently (None when absent or malformed)."""
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            return None
        try:
            ticket = Ticket.from_wire({"ticket": body["ticket"], "print": {"ok": True}})
        except (BadAnswer, ValueError, TypeError):
            return None
        booking = cls(
            str(body.get("time") or ""),
            str(body.get("service_zh") or ""),
            str(body.get("service_en") or ""),
            str(body.get("arrival") or ""),
            bool(body.get("reserved")),
            bool(body.get("repeated")),
        )
        return booking, ticket

    @classmethod
    def from_model(cls, booked: wire.BookedVisit | None) -> tuple[Booking, Ticket] | None:
        """The screen's booking and ticket from the hub's typed check-in."""
        if booked is None:
            return None
        return cls.from_wire(booked.to_wire())
