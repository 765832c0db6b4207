"""What may go into an audit entry, checked before it is handed to the writer.

Structured fields (device, staff, customer, subject) are checked against their format: a typed
reference such as `visit:<visit id>` must match that id's pattern, and any other id is letters,
digits and `_.:@/-` with no run of 13 or more digits (the shape of a card or resident ID number,
which no id the hub, HQ or branch-provision makes has). `detail` values under `*_id` keys are
ids too, `serial` and `*_serial` are hex; any other string value is free text, searched for a Luhn-valid card
number or a valid resident ID number and refused if it holds one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Protocol

from branch_common.identifiers import is_valid_id_number, luhn_valid
from branch_hub.ids import new_token_id

__all__ = [
    "ACTIONS",
    "Caller",
    "Detail",
    "PendingAudit",
    "looks_like_card_or_id_number",
    "prepare_entry",
]

# What gets audited. Handlers pass one of these as `action`.
ACTIONS = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "enrolment",
        "enrolment_code",
        "enrolment_failed",
        "revocation",
        "brief_view",
        "timeline_view",
        "lobby_list_view",
        "identification",
        "claim",
        "note",
        "handoff",
        "handoff_accept",
        "manager_alerts_view",
        "manager_alert_dismiss",
        "outcome",
        "suitability_refused",
        "product_view",
        "report_view",
        "report_sent",
        "export",
        "config_change",
        "staff_change",
        "server_cert_rotation",
        "attack_alert",
        "device_renewed",
    }
)
Scalar = str | int | float | bool | None
Detail = Mapping[str, Scalar]

_ID = re.compile(r"^[A-Za-z0-9_.:@/-]{1,128}$")
_LONG_DIGITS = re.compile(r"\d{13}")
_ENTRY_ID = re.compile(r"^[0-9a-f]{32}$")
# Typed subjects: `kind:value`, the value checked against the pattern of the id the hub made.
_REFERENCES = {
    "visit": re.compile(r"^[0-9a-f]{16}$"),
    "note": re.compile(r"^[0-9a-f]{32}$"),
    "ticket": re.compile(r"^[0-9]{8}-[A-Z][0-9]{3,6}$"),
}
_DIGIT_RUN = re.compile(r"\d{13,}[Xx]?")
_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Detail values that are ids, checked by format: `*_id` like the id fields, `serial` as hex.
_SERIAL = re.compile(r"^[0-9a-f]{1,64}$")
_DETAIL_TEXT_MAX = 1000


class Caller(Protocol):
    """Who acts (a request context): the device and the staff member, when known."""

    @property
    def device_id(self) -> str | None:
        """The calling device."""
        ...

    @property
    def staff_id(self) -> str | None:
        """The logged-in staff member."""
        ...


def looks_like_card_or_id_number(text: str) -> bool:
    """Tell whether free text holds a Luhn-valid card number or a valid resident ID number."""
    for run in _DIGIT_RUN.findall(text):
        digits = run.rstrip("Xx")
        if is_valid_id_number(run.upper()) or (len(digits) <= 19 and luhn_valid(digits)):
            return True
    return False


def _check_id(name: str, value: object) -> str | None:
    """Check a structured field against its format; return it."""
    if value is None:
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"audit {name} must be an id (letters, digits, _.:@/-)")
    kind, sep, ref = value.partition(":")
    pattern = _REFERENCES.get(kind) if sep else None
    if pattern is not None:
        if not pattern.fullmatch(ref):
            raise ValueError(f"audit {name} must be an id: {kind}: takes a {kind} id")
        return value
    if _LONG_DIGITS.search(value):
        raise ValueError(f"audit {name} must be an id, not a card or ID number")
    return value


def _check_detail(detail: Mapping[str, object] | None) -> dict[str, Scalar]:
    """Check a flat detail mapping: short keys, scalar values, ids by format, text by search."""
    clean: dict[str, Scalar] = {}
    for key, value in (detail or {}).items():
        if not isinstance(key, str) or not _DETAIL_KEY.fullmatch(key):
            raise ValueError("audit detail keys are short lowercase names")
        if not isinstance(value, str | int | float | bool | type(None)):
            raise TypeError(f"audit detail {key!r} must be a scalar")
        if isinstance(value, str) and key.endswith("_id"):
            _check_id(f"detail {key!r}", value)
        elif isinstance(value, str) and (key == "serial" or key.endswith("_serial")):
            if not _SERIAL.fullmatch(value):
                raise ValueError(f"audit detail {key!r} must be lowercase hex")
        elif isinstance(value, str):
            if len(value) > _DETAIL_TEXT_MAX:
                raise ValueError(f"audit detail {key!r} is longer than {_DETAIL_TEXT_MAX}")
            if looks_like_card_or_id_number(value):
                raise ValueError(f"audit detail {key!r} must not hold a card or ID number")
        clean[key] = value
    return clean


@dataclass(frozen=True)
class PendingAudit:
    """A checked entry handed to the writer: its chain position and MAC come when written.

    `entry_id` makes the append idempotent: handing in the same entry again (a replay after a
    crash) never writes it twice. `to_json`/`from_json` let a caller keep it in its own database.
    """

    entry_id: str
    at: str
    action: str
    device_id: str | None
    staff_id: str | None
    customer_id: str | None
    subject: str | None
    detail: dict[str, Scalar]

    def to_json(self) -> dict[str, object]:
        """The entry as a JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PendingAudit:
        """Rebuild (and re-check) an entry kept by `to_json`; ValueError if it is not one."""
        entry_id, at, detail = data.get("entry_id"), data.get("at"), data.get("detail")
        if not isinstance(entry_id, str) or not _ENTRY_ID.fullmatch(entry_id):
            raise ValueError("a pending audit entry needs a 32-hex entry_id")
        if not isinstance(at, str) or not _is_iso_time(at):
            raise ValueError("a pending audit entry needs its time in ISO 8601")
        if detail is not None and not isinstance(detail, Mapping):
            raise ValueError("a pending audit entry's detail is a mapping")
        return _checked(
            entry_id,
            at,
            data.get("action"),
            {name: data.get(name) for name in ("device_id", "staff_id", "customer_id", "subject")},
            detail,
        )


def _is_iso_time(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _checked(
    entry_id: str,
    at: str,
    action: object,
    ids: Mapping[str, object],
    detail: Mapping[str, object] | None,
) -> PendingAudit:
    if not isinstance(action, str) or action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return PendingAudit(
        entry_id=entry_id,
        at=at,
        action=action,
        device_id=_check_id("device_id", ids.get("device_id")),
        staff_id=_check_id("staff_id", ids.get("staff_id")),
        customer_id=_check_id("customer_id", ids.get("customer_id")),
        subject=_check_id("subject", ids.get("subject")),
        detail=_check_detail(detail),
    )


def prepare_entry(
    action: str,
    *,
    ctx: Caller | None = None,
    device_id: str | None = None,
    staff_id: str | None = None,
    customer_id: str | None = None,
    subject: str | None = None,
    detail: Detail | None = None,
) -> PendingAudit:
    """Check an entry and give it an entry id and the time; `ctx` fills device and staff."""
    if ctx is not None:
        device_id = device_id or ctx.device_id
        staff_id = staff_id or ctx.staff_id
    return _checked(
        new_token_id(32),
        dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        action,
        {
            "device_id": device_id,
            "staff_id": staff_id,
            "customer_id": customer_id,
            "subject": subject,
        },
        detail,
    )
