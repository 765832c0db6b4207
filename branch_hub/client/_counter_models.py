"""What a counter's pickers read: the services and counters a ticket may be transferred to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branch_hub.client._wire import Reader

__all__ = ["CounterTarget", "QueueTargets", "ServiceTarget"]


@dataclass(frozen=True)
class ServiceTarget:
    """A service of the branch, with how many are waiting for it."""

    code: str
    name_zh: str
    name_en: str
    waiting: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "waiting": self.waiting,
        }

    @classmethod
    def from_wire(cls, body: object) -> ServiceTarget:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "service")
        return cls(r.text("code"), r.text("name_zh"), r.text("name_en"), r.whole("waiting"))


@dataclass(frozen=True)
class CounterTarget:
    """A counter of the branch: its names, services, and whether it is open and busy."""

    counter_id: str
    number: int
    name_zh: str
    name_en: str
    services: tuple[str, ...]
    open: bool
    serving: bool

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "counter_id": self.counter_id,
            "number": self.number,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "services": list(self.services),
            "open": self.open,
            "serving": self.serving,
        }

    @classmethod
    def from_wire(cls, body: object) -> CounterTarget:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "counter")
        return cls(
            r.text("counter_id"),
            r.whole("number"),
            r.text("name_zh"),
            r.text("name_en"),
            r.texts("services"),
            r.flag("open"),
            r.flag("serving"),
        )


@dataclass(frozen=True)
class QueueTargets:
    """GET /queue/targets: every service and counter, for the transfer picker."""

    services: tuple[ServiceTarget, ...]
    counters: tuple[CounterTarget, ...]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "services": [s.to_wire() for s in self.services],
            "counters": [c.to_wire() for c in self.counters],
        }

    @classmethod
    def from_wire(cls, body: object) -> QueueTargets:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "queue targets")
        return cls(
            r.items("services", ServiceTarget.from_wire),
            r.items("counters", CounterTarget.from_wire),
        )

    def service_name(self, code: str | None) -> str:
        """A service's Chinese name (its code when the branch has no such service)."""
        return next((s.name_zh for s in self.services if s.code == code), code or "")

    def counters_for(self, service: str) -> tuple[CounterTarget, ...]:
        """The counters that serve `service`."""
        return tuple(c for c in self.counters if service in c.services)
