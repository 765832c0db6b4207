"""Answers every device reads: health, refusals, the event stream, app offers, ending a session.

Each model's `to_wire()` gives back the hub's JSON exactly; `from_wire()` raises WireError on
anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from branch_hub.client._errors import WireError
from branch_hub.client._wire import Reader, optional
from branch_hub.vocabulary import EventKind

__all__ = ["AppOffer", "Ended", "ErrorBody", "Health", "PushEvent"]


@dataclass(frozen=True)
class Ended:
    """POST /kiosk/session/end and /logout: whether there was something to end."""

    ended: bool

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {"ended": self.ended}

    @classmethod
    def from_wire(cls, body: object) -> Ended:
        """Parse; raise WireError on a wrong shape."""
        return cls(Reader(body, "end").flag("ended"))


@dataclass(frozen=True)
class Health:
    """GET /health: status, version, the event log's last seq and the hub's other figures."""

    status: str
    version: str
    last_seq: int
    details: dict[str, Any] = field(default_factory=dict)  # branch_id, cache, ...

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "status": self.status,
            "version": self.version,
            "last_seq": self.last_seq,
            **self.details,
        }

    @classmethod
    def from_wire(cls, body: object) -> Health:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "health")
        return cls(
            r.text("status"),
            r.text("version"),
            r.whole("last_seq"),
            r.rest("status", "version", "last_seq"),
        )


@dataclass(frozen=True)
class ErrorBody:
    """Every refusal's body: `{"error": {"code", "message", "message_zh"?}}`."""

    code: str
    message: str
    message_zh: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        inner: dict[str, Any] = {"code": self.code, "message": self.message}
        return {"error": optional(inner, "message_zh", self.message_zh)}

    @classmethod
    def from_wire(cls, body: object) -> ErrorBody:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "error body").obj("error")
        return cls(r.text("code"), r.text("message"), r.opt_text("message_zh"))


@dataclass(frozen=True)
class PushEvent:
    """One event of the branch-wide, sequenced stream (GET /events)."""

    seq: int
    kind: EventKind
    at: str
    data: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "type": "event",
            "seq": self.seq,
            "kind": self.kind,
            "at": self.at,
            "data": self.data,
        }

    @classmethod
    def from_wire(cls, body: object) -> PushEvent:
        """Parse; raise WireError on a wrong shape or an event kind this client does not know."""
        r = Reader(body, "event")
        if r.data.get("type", "event") != "event":
            raise WireError("event.type must be 'event'")
        return cls(
            r.whole("seq"),
            r.enum("kind", EventKind),
            r.opt_text("at") or "",
            r.mapping("data"),
        )


@dataclass(frozen=True)
class AppOffer:
    """GET /apps/{app}/offer: the version this device's channel offers."""

    app: str
    version: str
    channel: str
    hub_version: str
    files: tuple[str, ...]
    min_hub_version: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object."""
        return {
            "app": self.app,
            "version": self.version,
            "channel": self.channel,
            "min_hub_version": self.min_hub_version,
            "files": list(self.files),
            "hub_version": self.hub_version,
        }

    @classmethod
    def from_wire(cls, body: object) -> AppOffer:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "offer")
        return cls(
            r.text("app"),
            r.text("version"),
            r.text("channel"),
            r.text("hub_version"),
            r.texts("files"),
            r.opt_text("min_hub_version"),
        )
