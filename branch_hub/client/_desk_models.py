"""GET /desks: the staff desks whose readers can identify a waiting walk-in's ticket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader

__all__ = ["DESK_READERS", "Desk", "DeskList"]

DESK_READERS = ("id_card", "chip_card", "stripe")
"""A desk's readers: the resident ID card reader, a bank card's chip, a card or passbook stripe."""


@dataclass(frozen=True)
class Desk:
    """One desk (a `[[stations]]` entry with `role = "desk"`) and the readers it has."""

    station: str
    readers: tuple[str, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"station": self.station, "readers": list(self.readers)}

    @classmethod
    def from_wire(cls, body: object) -> Desk:
        """Parse; raise WireError on a wrong shape (a reader this client does not know is kept)."""
        r = Reader(body, "desk")
        station = r.text("station")
        if not station:
            raise WireError("desk.station must not be empty")
        return cls(station, r.texts("readers"))


@dataclass(frozen=True)
class DeskList:
    """GET /desks: the branch's desks in configuration order (none: identify by typing), and
    how long an identification at one waits for the card (`[hub] desk_read_wait_s`)."""

    desks: tuple[Desk, ...]
    wait_s: float = 20.0

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"desks": [d.to_wire() for d in self.desks], "wait_s": self.wait_s}

    @classmethod
    def from_wire(cls, body: object) -> DeskList:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "desks")
        return cls(r.items("desks", Desk.from_wire), r.number("wait_s"))
