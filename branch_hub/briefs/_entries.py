"""What a valid note entry is, and how one is sealed to its row and opened again."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from branch_hub.atrest import AtRestCipher, AtRestError
from branch_hub.briefs._errors import InvalidEntry, NotesStoreError
from branch_hub.briefs._model import Note
from branch_hub.config import STAFF_ROLES
from branch_hub.vocabulary import NOTE_MAX_CHARS

MAX_TEXT = NOTE_MAX_CHARS  # characters in one note (the one limit, from the vocabulary)
_ID_LIMIT = 128


def check_id(what: str, value: object) -> str:
    """Return an id (visit, staff, customer, lead) that is short and printable."""
    if not isinstance(value, str) or not value.strip() or len(value) > _ID_LIMIT:
        raise InvalidEntry(f"{what} must be a non-empty string of at most {_ID_LIMIT} characters")
    if any(ord(c) < 32 for c in value):
        raise InvalidEntry(f"{what} contains control characters")
    return value


def check_role(what: str, role: object) -> str:
    """Return a known staff role."""
    if role not in STAFF_ROLES:
        raise InvalidEntry(f"{what} must be one of {', '.join(STAFF_ROLES)}, got {role!r}")
    return str(role)


def check_text(text: object, *, required: bool) -> str:
    """Return a note's trimmed text, within the one length limit."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InvalidEntry("a note's text must be a string")
    text = text.strip()
    if required and not text:
        raise InvalidEntry("a note's text must not be empty")
    if len(text) > MAX_TEXT:
        raise InvalidEntry(f"a note's text is limited to {MAX_TEXT} characters, got {len(text)}")
    if "\x00" in text:
        raise InvalidEntry("a note's text contains a NUL character")
    return text


def _aad(entry_id: str, kind: str, visit_id: str, day: str) -> bytes:
    return f"briefs/entry/{entry_id}/{kind}/{visit_id}/{day}".encode()


def seal_entry(
    cipher: AtRestCipher, note: Note, day: date, customer_tag: bytes | None
) -> tuple[str, tuple[Any, ...]]:
    """Return the INSERT that stores a note sealed to its row (id, kind, visit, day)."""
    body = {
        "by": note.by,
        "role": note.role,
        "at": note.at.isoformat(timespec="microseconds"),
        "text": note.text,
        "customer_id": note.customer_id,
        "for_role": note.for_role,
        "to_staff_id": note.to_staff_id,
        "to_role": note.to_role,
        "lead_id": note.lead_id,
        "outcome": note.outcome,
        "reason": note.reason,
        "follow_up_on": note.follow_up_on,
    }
    plain = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    iso_day = day.isoformat()
    sealed = cipher.seal(plain, _aad(note.note_id, note.kind, note.visit_id, iso_day))
    return (
        "INSERT INTO entries (entry_id, day, visit_id, kind, customer_tag, sealed) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (note.note_id, iso_day, note.visit_id, note.kind, customer_tag, sealed),
    )


def open_entry(
    cipher: AtRestCipher, entry_id: str, day: str, visit_id: str, kind: str, sealed: bytes
) -> Note:
    """Open a stored entry, refusing one that was altered or moved to another row."""
    try:
        body = json.loads(cipher.open(bytes(sealed), _aad(entry_id, kind, visit_id, day)))
    except AtRestError as exc:
        raise NotesStoreError(
            f"note {entry_id} failed authentication (wrong key or altered database)"
        ) from exc
    return Note(
        note_id=entry_id,
        visit_id=visit_id,
        kind=kind,
        by=body["by"],
        role=body["role"],
        at=datetime.fromisoformat(body["at"]),
        text=body["text"],
        customer_id=body["customer_id"],
        for_role=body["for_role"],
        to_staff_id=body["to_staff_id"],
        to_role=body["to_role"],
        lead_id=body["lead_id"],
        outcome=body["outcome"],
        reason=body.get("reason"),  # entries sealed before reasons and dates have neither
        follow_up_on=body.get("follow_up_on"),
    )
