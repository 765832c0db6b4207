"""What the kiosk's camera is refused (mapped in branch_hub/api/errors.py)."""

from __future__ import annotations

from branch_hub.lobby.errors import LobbyError

__all__ = ["NotATicket", "TooManyWrongCodes", "UnknownCode"]


class UnknownCode(LobbyError):
    """Not an appointment code of this branch today: malformed, unknown, another day or branch
    (one refusal for all, so a wrong code teaches nothing)."""


class NotATicket(LobbyError):
    """The QR shown is not a ticket of this branch today."""


class TooManyWrongCodes(LobbyError):
    """The station sent too many wrong codes in the last minute."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
