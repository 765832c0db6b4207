"""Ids the hub makes: lowercase hex that never holds a run of 13 or more decimal digits.

A run of 13-19 digits is what a card number looks like (and 17 digits start a resident ID
number), so an id with one could be taken for customer data by the audit log, a log scanner or a
person reading an export. Every id made here has a hex letter forced at index 8, 20, 32, ...
(derived from the digit it replaces, so a derived id stays stable), which caps digit runs at 11.
"""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = [
    "HEX_ID",
    "LONGEST_DIGIT_RUN",
    "new_token_id",
    "new_visit_id",
    "visit_id_for_request",
]

HEX_ID = re.compile(r"^[0-9a-f]{16}$")  # what the API accepts as a visit id
LONGEST_DIGIT_RUN = 11
_FIRST_LETTER_AT = 8
_LETTER_EVERY = LONGEST_DIGIT_RUN + 1
_LETTERS = "abcdef"


def _letter_for(char: str) -> str:
    # Hex letters stay as they are; a digit d becomes "abcdef"[d % 6].
    return char if char in _LETTERS else _LETTERS[(ord(char) - 48) % 6]


def with_letters(hex_text: str) -> str:
    """Force a hex letter at index 8, 20, 32, ... of lowercase hex text (deterministic)."""
    if len(hex_text) == 16:  # the common case, kept cheap: one letter
        return hex_text[:8] + _letter_for(hex_text[8]) + hex_text[9:]
    chars = list(hex_text)
    for index in range(_FIRST_LETTER_AT, len(chars), _LETTER_EVERY):
        chars[index] = _letter_for(chars[index])
    return "".join(chars)


def new_token_id(length: int = 16) -> str:
    """Return a random lowercase hex id of `length` characters (at least 9) without long digit runs."""
    if not 9 <= length <= 256:
        raise ValueError("a token id has 9 to 256 characters")
    return with_letters(secrets.token_hex((length + 1) // 2)[:length])


def new_visit_id() -> str:
    """Return a new random visit id (16 hex characters, about 62 random bits)."""
    return with_letters(secrets.token_hex(8))


def visit_id_for_request(station: str, request_id: str) -> str:
    """Return the visit id derived from a kiosk's ticket request (the same for every retry)."""
    digest = hashlib.sha256(f"kiosk\x00{station}\x00{request_id}".encode()).hexdigest()
    return with_letters(digest[:16])
