"""Customer identifiers: check digits (Luhn, GB 11643) and normalisation for lookups."""

from __future__ import annotations

import operator
import re

__all__ = [
    "IdentifierError",
    "gb11643_check_char",
    "is_valid_id_number",
    "luhn_check_digit",
    "luhn_valid",
    "mask_name",
    "mask_number",
    "normalise",
]

# GB 11643-1999 §6: weights W_i = 2^(17-i) mod 11 for the first 17 digits.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # index = (sum of weighted digits) mod 11


_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # digit doubled, digits of the product summed


class IdentifierError(ValueError):
    """An identifier is malformed for its kind."""


def gb11643_check_char(first17: str) -> str:
    """Return the check character of an 18-character resident ID number."""
    if len(first17) != 17 or not first17.isdigit():
        raise IdentifierError("a resident ID number starts with 17 digits")
    total = sum(map(operator.mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    """Tell whether an 18-character resident ID number has a valid check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    return gb11643_check_char(value[:17]) == value[17].upper()


def luhn_check_digit(partial: str) -> str:
    """Return the Luhn (ISO/IEC 7812-1) check digit to append to a partial PAN."""
    # Positions 1, 3, 5... counted from the right of the partial PAN are doubled.
    doubled = partial[::-1][::2]
    plain = partial[::-1][1::2]
    total = sum(_LUHN_DOUBLE[ord(c) - 48] for c in doubled) + sum(ord(c) - 48 for c in plain)
    return str(-total % 10)


def luhn_valid(pan: str) -> bool:
    """Tell whether a PAN's last digit is its Luhn check digit."""
    return pan.isdigit() and len(pan) >= 2 and luhn_check_digit(pan[:-1]) == pan[-1]


_SEPARATORS = re.compile(r"[\s\-_./]")
KINDS = ("pan", "passbook", "id_number")
_DIGIT_KINDS = frozenset(("pan", "passbook"))
_ID_LAST = frozenset("0123456789X")


def normalise(kind: str, value: str) -> str:
    """Normalise an identifier of a kind ('pan', 'passbook', 'id_number') for a blind index."""
    # Fast path for values that are already normal (HQ's export, card reads): no regex.
    if kind in _DIGIT_KINDS and value.isdigit() and value.isascii() and 6 <= len(value) <= 32:
        return value
    if (
        kind == "id_number"
        and len(value) == 18
        and value.isascii()
        and value[:17].isdigit()
        and value[17] in _ID_LAST
    ):
        return value
    cleaned = _SEPARATORS.sub("", value)
    if kind in {"pan", "passbook"}:
        if not cleaned.isdigit() or not 6 <= len(cleaned) <= 32:
            raise IdentifierError(f"{kind}: expected 6-32 digits")
        return cleaned
    if kind == "id_number":
        cleaned = cleaned.upper()
        if not re.fullmatch(r"\d{17}[\dX]", cleaned):
            raise IdentifierError("id_number: expected 17 digits and a digit or X")
        return cleaned
    raise IdentifierError(f"unknown identifier kind {kind!r} (expected one of {', '.join(KINDS)})")


def mask_number(value: str, head: int = 4, tail: int = 4) -> str:
    """Mask the middle of a card, account or ID number for display to staff."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_name(name: str) -> str:
    """Mask a Chinese name, keeping the family name: 王建国 -> 王**."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
