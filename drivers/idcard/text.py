"""Decode and encode the 256-byte text block (UCS-2 LE) of resident ID and residence cards.

Layouts from docs/protocols.md#sam_v-text-block (sources S1, S5, S7, S9). The card-type flag at offset
248 selects the layout: ' ' resident ID, 'J' HK/Macau/Taiwan residence permit, 'I' 2017
foreigner permanent residence card, 'Y' 2023 foreigner permanent residence card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from drivers.errors import ProtocolError
from drivers.idcard.tables import gender_label, nation_name

__all__ = [
    "LONG_TERM",
    "TEXT_LEN",
    "IdentityRecord",
    "TextBlockError",
    "decode_text_block",
    "encode_text_block",
]

TEXT_LEN = 256
LONG_TERM = "long-term"

# (field, offset, byte length) per layout.
_Layout = tuple[tuple[str, int, int], ...]
_RESIDENT: _Layout = (
    ("name", 0, 30),
    ("gender", 30, 2),
    ("nation", 32, 4),
    ("birth", 36, 16),
    ("address", 52, 70),
    ("id_number", 122, 36),
    ("authority", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
)
_HMT_TAIL: _Layout = (("pass_number", 220, 18), ("issue_count", 238, 4))
_FOREIGN_OLD: _Layout = (
    ("english_name", 0, 120),
    ("gender", 120, 2),
    ("id_number", 122, 30),
    ("nationality", 152, 6),
    ("name", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("birth", 220, 16),
    ("card_version", 236, 4),
    ("authority", 240, 8),
)
# S7 layout. S9 reads the 30-byte field at 158 as the issuing authority and the 22-byte field
# at 220 as pass number + issue count; the public sources disagree, so both are kept raw.
_FOREIGN_2023: _Layout = (
    ("name", 0, 30),
    ("gender", 30, 2),
    ("renewal_count", 32, 4),
    ("birth", 36, 16),
    ("english_name_1", 52, 70),
    ("id_number", 122, 36),
    ("reserved_158", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
    ("english_name_2", 220, 22),
    ("nationality", 242, 6),
    ("old_card_number", 250, 6),
)
_TYPE_OFFSET = 248
_KINDS = {
    " ": "resident_id",
    "": "resident_id",
    "J": "hmt_permit",
    "I": "foreign_pr",
    "Y": "foreign_pr",
}
_DATE = re.compile(r"\d{8}")


class TextBlockError(ProtocolError):
    """A text block that cannot be decoded."""


@dataclass(frozen=True)
class IdentityRecord:
    """Fields of a card's text block; `to_json` gives the read-id output."""

    kind: str
    name: str
    gender: str
    nation: str
    nation_name: str
    birth: str
    address: str
    id_number: str
    authority: str
    valid_from: str
    valid_to: str
    card_type: str = " "
    extra: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Personal data must never reach a log through repr().
        return f"IdentityRecord(kind={self.kind!r}, <fields hidden>)"

    __str__ = __repr__

    def to_json(self) -> dict[str, Any]:
        """Fields in the read-id / decode samv output order; extras only for permits."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "gender": self.gender,
            "nation": self.nation,
            "nation_name": self.nation_name,
            "birth": self.birth,
            "address": self.address,
            "id_number": self.id_number,
            "authority": self.authority,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
        }
        if self.kind != "resident_id":
            out["card_type"] = self.card_type
            out.update(self.extra)
        return out


def _text(block: bytes, off: int, size: int, strip: bool = True) -> str:
    try:
        raw = block[off : off + size].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise TextBlockError(f"text at offset {off} is not valid UCS-2: {exc.reason}") from exc
    # Padding is spaces (0x20 0x00); some writers pad with NULs.
    raw = raw.replace("\x00", " ")
    return raw.strip() if strip else raw


def _date(value: str, label: str, allow_long_term: bool = False) -> str:
    if allow_long_term and value.startswith("长期"):
        return LONG_TERM
    if not value:
        return ""
    if not _DATE.fullmatch(value):
        raise TextBlockError(f"{label} is not a YYYYMMDD date")
    try:
        date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as exc:
        raise TextBlockError(f"{label} is not a calendar date: {exc}") from exc
    return f"{value[:4]}-{value[4:6]}-{value[6:]}"


def decode_text_block(block: bytes) -> IdentityRecord:
    """Decode a 256-byte text block into an IdentityRecord."""
    if len(block) != TEXT_LEN:
        raise TextBlockError(f"text block is {len(block)} bytes, expected {TEXT_LEN}")
    flag = _text(block, _TYPE_OFFSET, 2)
    kind = _KINDS.get(flag)
    if kind is None:
        raise TextBlockError(f"unknown card type flag {flag!r}")
    if flag == "I":
        layout = _FOREIGN_OLD
    elif flag == "Y":
        layout = _FOREIGN_2023
    elif flag == "J":
        layout = _RESIDENT + _HMT_TAIL
    else:
        layout = _RESIDENT
    f = {name: _text(block, off, size) for name, off, size in layout}
    nation = f.pop("nation", "")
    extra: dict[str, str] = {}
    if flag == "J":
        extra = {"pass_number": f.pop("pass_number"), "issue_count": f.pop("issue_count")}
    elif flag == "I":
        extra = {
            "english_name": f.pop("english_name"),
            "nationality": f.pop("nationality"),
            "card_version": f.pop("card_version"),
        }
    elif flag == "Y":
        extra = {
            # Part 2 continues part 1 when part 1 is full (35 chars), so join before stripping.
            "english_name": (_text(block, 52, 70, strip=False) + f.pop("english_name_2")).strip(),
            "nationality": f.pop("nationality"),
            "renewal_count": f.pop("renewal_count"),
            "old_card_number": f.pop("old_card_number"),
        }
        # Sources disagree on this field (S7 reserved, S9 issuing authority): report it as authority.
        f["authority"] = f.pop("reserved_158")
    return IdentityRecord(
        kind=kind,
        name=f["name"],
        gender=gender_label(f["gender"]),
        nation=nation,
        nation_name=nation_name(nation),
        birth=_date(f["birth"], "birth date"),
        address=f.get("address", ""),
        id_number=f["id_number"],
        authority=f["authority"],
        valid_from=_date(f["valid_from"], "valid-from date"),
        valid_to=_date(f["valid_to"], "valid-to date", allow_long_term=True),
        card_type=flag or " ",
        extra=extra,
    )


def _put(block: bytearray, off: int, size: int, value: str) -> None:
    raw = value.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"value of {len(raw)} bytes does not fit a {size}-byte field")
    block[off : off + size] = raw + b" \x00" * ((size - len(raw)) // 2)


def _undate(value: str) -> str:
    return "长期" if value == LONG_TERM else value.replace("-", "")


def encode_text_block(
    fields: dict[str, str], card_type: str = " ", gender_code: str | None = None
) -> bytes:
    """Build a resident-ID ('J' permit) text block from read-id style fields (simulator, tests)."""
    if card_type not in (" ", "J"):
        raise ValueError("only resident ID and HMT permit blocks are encoded")
    block = bytearray(b" \x00" * (TEXT_LEN // 2))
    code = gender_code or {"M": "1", "F": "2"}.get(fields.get("gender", ""), "0")
    values = dict(fields)
    values["gender"] = code
    values["birth"] = _undate(values.get("birth", ""))
    values["valid_from"] = _undate(values.get("valid_from", ""))
    values["valid_to"] = _undate(values.get("valid_to", ""))
    layout = _RESIDENT + (_HMT_TAIL if card_type == "J" else ())
    for name, off, size in layout:
        _put(block, off, size, values.get(name, ""))
    _put(block, _TYPE_OFFSET, 2, card_type)
    return bytes(block)
