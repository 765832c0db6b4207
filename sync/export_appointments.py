"""Check of the export's optional `appointments` field: what HQ booked for the customer.

HQ (mobile banking, the call centre, the customer's manager) books a visit: a service, a
window in the branch's local time and who should receive the customer. A bad item raises
ExportFieldError naming the field and what it must be, never the value.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sync.export_fields import ExportFieldError

__all__ = [
    "CHANNELS",
    "CODE_PREFIX",
    "MAX_APPOINTMENTS",
    "appointment_code",
    "check_appointments",
    "code_digest",
    "code_token",
    "local_time",
]

CHANNELS = ("mobile_banking", "call_centre", "manager", "branch")
MAX_APPOINTMENTS = 20
_KEYS = (
    "id",
    "service",
    "window_start",
    "window_end",
    "advisor_role",
    "advisor",
    "channel",
    "code_digest",
)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
# The code's token: at least 128 random bits as URL-safe base64 (22 characters), at most 64.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")
CODE_PREFIX = "branchedge://appointment?t="
_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")


def local_time(value: object) -> datetime | None:
    """The ISO local time (no offset) `YYYY-MM-DDTHH:MM[:SS]`, or None if it is not one."""
    if not isinstance(value, str) or not _LOCAL.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def appointment_code(token: str) -> str:
    """The text of the QR HQ sends the customer for `token`."""
    return CODE_PREFIX + token


def code_token(text: str) -> str | None:
    """The token of an appointment QR's text, or None if the text is not one."""
    token = text.strip().removeprefix(CODE_PREFIX)
    if token == text.strip() or not _TOKEN.fullmatch(token):
        return None
    return token


def code_digest(token: str) -> str:
    """What the export (and the hub) keeps of a token: its SHA-256, lowercase hex."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _matches(value: object, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _window(item: dict[str, object]) -> None:
    wanted = "a local time YYYY-MM-DDTHH:MM[:SS] (no offset)"
    start = local_time(item.get("window_start"))
    if start is None:
        raise ExportFieldError("appointments.window_start", wanted)
    end = local_time(item.get("window_end"))
    if end is None:
        raise ExportFieldError("appointments.window_end", wanted)
    if not start < end or start.date() != end.date():
        raise ExportFieldError("appointments.window_end", "later than window_start, same day")


def _item(item: object) -> None:
    if not isinstance(item, dict) or set(item) - set(_KEYS):
        raise ExportFieldError("appointments", f"objects with keys among {', '.join(_KEYS)}")
    if not _matches(item.get("id"), _ID):
        raise ExportFieldError("appointments.id", "a booking reference of 1-64 letters or digits")
    if not _matches(item.get("service"), _CODE):
        raise ExportFieldError("appointments.service", "a service code of the branch")
    _window(item)
    if item.get("advisor_role") is not None and not _matches(item["advisor_role"], _CODE):
        raise ExportFieldError("appointments.advisor_role", "a staff role code or null")
    if item.get("advisor") is not None and not _matches(item["advisor"], _ID):
        raise ExportFieldError("appointments.advisor", "a staff id (1-64 chars) or null")
    if item.get("code_digest") is not None and not _matches(item["code_digest"], _DIGEST):
        raise ExportFieldError("appointments.code_digest", "a lowercase hex SHA-256 or null")
    if item.get("channel") not in CHANNELS:
        raise ExportFieldError("appointments.channel", f"one of {', '.join(CHANNELS)}")


def check_appointments(value: object) -> None:
    """Raise ExportFieldError unless `value` is a list of well-formed appointments."""
    if not isinstance(value, list) or len(value) > MAX_APPOINTMENTS:
        raise ExportFieldError("appointments", f"a list of at most {MAX_APPOINTMENTS} items")
    seen: set[object] = set()
    for item in value:
        _item(item)
        if item["id"] in seen:
            raise ExportFieldError("appointments.id", "unique within the customer")
        seen.add(item["id"])
