"""The client's exception tree: every failure talking to the hub is a HubError."""

from __future__ import annotations

__all__ = ["HubError", "HubProtocolError", "HubRejected", "HubUnavailable"]


class HubError(Exception):
    """Base class of every error the hub client raises."""


class HubUnavailable(HubError):
    """The hub could not be reached, timed out, or reported it cannot serve right now (5xx)."""


class HubRejected(HubError):
    """The hub refused the request (4xx) with an error code and a clear message."""

    def __init__(self, status: int, code: str, message: str, message_zh: str | None = None) -> None:
        super().__init__(f"hub refused the request ({status} {code}): {message}")
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh


class HubProtocolError(HubError):
    """The hub answered with something that is not the JSON the API promises."""
