"""The request context: which device and which staff member a request comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RequestContext", "context_from_peercert"]


@dataclass(frozen=True)
class RequestContext:
    """Who is calling: the device from its verified client certificate, the staff from the session."""

    device_id: str | None = None
    device_kind: str | None = None
    staff_id: str | None = None
    role: str | None = None
    session_problem: str | None = None  # why a presented bearer token gave no staff session

    @property
    def anonymous(self) -> bool:
        """True when no verified device stands behind the request."""
        return self.device_id is None


def context_from_peercert(peercert: dict[str, Any] | None) -> RequestContext:
    """Read device id (CN) and kind (OU) from a verified peer certificate as ssl returns it."""
    if not peercert:
        return RequestContext()
    fields: dict[str, str] = {}
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            fields[key] = value
    return RequestContext(
        device_id=fields.get("commonName"), device_kind=fields.get("organizationalUnitName")
    )
