"""The client's exception tree: every failure talking to the hub is a HubError."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AlreadyClaimed",
    "DeviceRevoked",
    "HubError",
    "HubProtocolError",
    "HubRefused",
    "HubRejected",
    "HubUnavailable",
    "KioskSessionExpired",
    "NotClaimHolder",
    "Refusal",
    "StaffSessionEnded",
    "UnknownVisit",
    "WireError",
    "refused",
]


class HubError(Exception):
    """Base class of every error the hub client raises."""


class HubUnavailable(HubError):
    """The hub could not be reached, timed out, or reported it cannot serve right now (5xx)."""


class HubProtocolError(HubError):
    """The hub answered with something that is not the JSON the API promises."""


class WireError(HubProtocolError):
    """A JSON document (an answer, an event, a request body) does not have the promised shape."""


class Refusal(StrEnum):
    """Refusal codes the apps react to (any other code is shown with its message)."""

    SESSION_EXPIRED = "session_expired"  # the kiosk session ended before the ticket
    LOGIN_REQUIRED = "login_required"
    SESSION_INVALID = "session_invalid"
    LOGIN_FAILED = "login_failed"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_DISABLED = "account_disabled"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    ALREADY_CLAIMED = "already_claimed"
    NOT_CLAIM_HOLDER = "not_claim_holder"
    UNKNOWN_VISIT = "unknown_visit"
    UNKNOWN_LEAD = "unknown_lead"
    UNKNOWN_TICKET = "unknown_ticket"
    UNKNOWN_COUNTER = "unknown_counter"
    UNKNOWN_SERVICE = "unknown_service"
    INVALID_TRANSITION = "invalid_transition"
    GRACE_EXPIRED = "grace_expired"
    COUNTER_CLOSED = "counter_closed"
    NOT_SERVED_HERE = "not_served_here"
    DEVICE_REVOKED = "device_revoked"
    DEVICE_NOT_ENROLLED = "device_not_enrolled"
    CERTIFICATE_REVOKED = "certificate_revoked"
    UNKNOWN_DEVICE = "unknown_device"
    UNKNOWN_CODE = "unknown_code"  # the kiosk's camera read no appointment code of today
    TOO_MANY_CODES = "too_many_codes"
    NOT_A_TICKET = "not_a_ticket"
    TICKET_NOT_WAITING = "ticket_not_waiting"
    ALREADY_IDENTIFIED = "already_identified"


class HubRefused(HubError):
    """The hub refused the request (4xx, or 507 under its disk reserve) with a code and a message."""

    def __init__(self, status: int, code: str, message: str, message_zh: str | None = None) -> None:
        super().__init__(f"hub refused the request ({status} {code}): {message}")
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh

    @property
    def refusal(self) -> Refusal | None:
        """The code as a Refusal, or None for a code the apps do not react to."""
        try:
            return Refusal(self.code)
        except ValueError:
            return None


HubRejected = HubRefused  # the earlier name, kept for callers that still use it


class KioskSessionExpired(HubRefused):
    """The kiosk session ended (timeout, another card) before the ticket was asked for."""


class StaffSessionEnded(HubRefused):
    """The staff session is missing, expired or belongs to another device: log in again."""


class DeviceRevoked(HubRefused):
    """This device is no longer trusted by the hub: forget its key and enrol again."""


class AlreadyClaimed(HubRefused):
    """A colleague has already claimed this customer."""


class NotClaimHolder(HubRefused):
    """Only the colleague who claimed the customer may do this."""


class UnknownVisit(HubRefused):
    """No such visit today (finished yesterday, or a wrong id)."""


_CLASSES: dict[Refusal, type[HubRefused]] = {
    Refusal.SESSION_EXPIRED: KioskSessionExpired,
    Refusal.LOGIN_REQUIRED: StaffSessionEnded,
    Refusal.SESSION_INVALID: StaffSessionEnded,
    Refusal.DEVICE_REVOKED: DeviceRevoked,
    Refusal.DEVICE_NOT_ENROLLED: DeviceRevoked,
    Refusal.CERTIFICATE_REVOKED: DeviceRevoked,
    Refusal.UNKNOWN_DEVICE: DeviceRevoked,
    Refusal.ALREADY_CLAIMED: AlreadyClaimed,
    Refusal.NOT_CLAIM_HOLDER: NotClaimHolder,
    Refusal.UNKNOWN_VISIT: UnknownVisit,
}


def refused(status: int, code: str, message: str, message_zh: str | None = None) -> HubRefused:
    """The HubRefused subclass for a refusal code (HubRefused itself for the others)."""
    try:
        cls = _CLASSES.get(Refusal(code), HubRefused)
    except ValueError:
        cls = HubRefused
    return cls(status, code, message, message_zh)
