"""BER-TLV codec for EMV data objects (EMV 4.3 Book 3 Annex B).

Pure functions over bytes: multi-byte tags, constructed tags parsed recursively, one-byte and
81/82/83/84 long-form lengths, 00/FF padding between objects, repeated tags kept in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from drivers.errors import TlvError

__all__ = [
    "TAG_NAMES",
    "Tlv",
    "encode",
    "encode_length",
    "encode_one",
    "encode_tag",
    "find",
    "find_all",
    "iter_all",
    "parse",
    "parse_dol",
    "tag_hex",
    "to_json",
]

MAX_DEPTH = 16  # EMV templates nest 3-4 deep; deeper input is malformed, not a stack to blow
MAX_TAG_BYTES = 4

# Names of the tags a bank-card read meets (EMV 4.3 Book 3 Annex A; PBOC 3.0 for 9F61/9F62).
TAG_NAMES: dict[int, str] = {
    0x42: "Issuer Identification Number",
    0x4F: "Application Identifier (AID)",
    0x50: "Application Label",
    0x57: "Track 2 Equivalent Data",
    0x5A: "Application PAN",
    0x5F20: "Cardholder Name",
    0x5F24: "Application Expiration Date",
    0x5F25: "Application Effective Date",
    0x5F28: "Issuer Country Code",
    0x5F2A: "Transaction Currency Code",
    0x5F2D: "Language Preference",
    0x5F30: "Service Code",
    0x5F34: "PAN Sequence Number",
    0x61: "Application Template",
    0x6F: "File Control Information (FCI) Template",
    0x70: "Record Template",
    0x77: "Response Message Template Format 2",
    0x80: "Response Message Template Format 1",
    0x82: "Application Interchange Profile",
    0x84: "Dedicated File (DF) Name",
    0x87: "Application Priority Indicator",
    0x88: "Short File Identifier (SFI)",
    0x8C: "CDOL1",
    0x8D: "CDOL2",
    0x8E: "CVM List",
    0x8F: "CA Public Key Index",
    0x90: "Issuer Public Key Certificate",
    0x92: "Issuer Public Key Remainder",
    0x94: "Application File Locator (AFL)",
    0x9F02: "Amount, Authorised",
    0x9F07: "Application Usage Control",
    0x9F08: "Application Version Number",
    0x9F0B: "Cardholder Name Extended",
    0x9F0D: "Issuer Action Code - Default",
    0x9F0E: "Issuer Action Code - Denial",
    0x9F0F: "Issuer Action Code - Online",
    0x9F10: "Issuer Application Data",
    0x9F11: "Issuer Code Table Index",
    0x9F12: "Application Preferred Name",
    0x9F1A: "Terminal Country Code",
    0x9F1F: "Track 1 Discretionary Data",
    0x9F26: "Application Cryptogram",
    0x9F27: "Cryptogram Information Data",
    0x9F32: "Issuer Public Key Exponent",
    0x9F36: "Application Transaction Counter",
    0x9F38: "PDOL",
    0x9F42: "Application Currency Code",
    0x9F44: "Application Currency Exponent",
    0x9F46: "ICC Public Key Certificate",
    0x9F47: "ICC Public Key Exponent",
    0x9F48: "ICC Public Key Remainder",
    0x9F49: "DDOL",
    0x9F4A: "Static Data Authentication Tag List",
    0x9F4B: "Signed Dynamic Application Data",
    0x9F4D: "Log Entry",
    0x9F61: "Cardholder ID Number (PBOC)",
    0x9F62: "Cardholder ID Type (PBOC)",
    0x9F66: "Terminal Transaction Qualifiers",
    0x9F6C: "Card Transaction Qualifiers",
    0x9F6E: "Form Factor Indicator",
    0x9F79: "Electronic Cash Balance (PBOC)",
    0x9F7A: "Electronic Cash Terminal Support Indicator (PBOC)",
    0xA5: "FCI Proprietary Template",
    0xBF0C: "FCI Issuer Discretionary Data",
    0xDF69: "SM Algorithm Supported (PBOC)",
}

# Values of these tags are text (an, ans) in the JSON rendering.
_TEXT_TAGS = frozenset({0x50, 0x5F20, 0x5F2D, 0x9F0B, 0x9F12, 0x9F61})


def tag_hex(tag: int) -> str:
    """Render a tag number as its hex bytes, e.g. 0x9F38 -> '9F38'."""
    return encode_tag(tag).hex().upper()


@dataclass(frozen=True, slots=True)
class Tlv:
    """One data object: a tag, its raw value, and its children when constructed."""

    tag: int
    value: bytes
    children: tuple[Tlv, ...] = ()

    @property
    def constructed(self) -> bool:
        """Tell whether the tag is constructed (bit 6 of the first tag byte)."""
        return _is_constructed(self.tag)

    @classmethod
    def build(cls, tag: int, children: Sequence[Tlv]) -> Tlv:
        """Make a constructed object whose value is its encoded children."""
        return cls(tag, encode(children), tuple(children))

    def find(self, tag: int) -> Tlv | None:
        """Return the first descendant with this tag (depth first), or None."""
        return find(self.children, tag)


def _first_tag_byte(tag: int) -> int:
    return tag >> (8 * ((tag.bit_length() - 1) // 8)) if tag else 0


def _is_constructed(tag: int) -> bool:
    return bool(_first_tag_byte(tag) & 0x20)


def _read_tag(data: bytes, i: int) -> tuple[int, int]:
    first = data[i]
    tag = first
    i += 1
    if first & 0x1F == 0x1F:
        # Subsequent bytes: bit 8 set means another byte follows (Book 3 Annex B1).
        while True:
            if i >= len(data):
                raise TlvError("tag runs past the end of the data")
            b = data[i]
            tag = (tag << 8) | b
            i += 1
            if tag.bit_length() > 8 * MAX_TAG_BYTES:
                raise TlvError(f"tag longer than {MAX_TAG_BYTES} bytes")
            if not b & 0x80:
                break
    return tag, i


def _read_length(data: bytes, i: int) -> tuple[int, int]:
    if i >= len(data):
        raise TlvError("length missing at the end of the data")
    first = data[i]
    i += 1
    if first < 0x80:
        return first, i
    count = first & 0x7F
    if count == 0 or count > 4:
        raise TlvError(f"unsupported length form {first:02X}")
    if i + count > len(data):
        raise TlvError("long-form length runs past the end of the data")
    return int.from_bytes(data[i : i + count], "big"), i + count


def _parse(data: bytes, depth: int) -> tuple[Tlv, ...]:
    if depth > MAX_DEPTH:
        raise TlvError(f"constructed objects nested deeper than {MAX_DEPTH}")
    out: list[Tlv] = []
    i, n = 0, len(data)
    while i < n:
        if data[i] in (0x00, 0xFF):  # padding between objects (Book 3 Annex B)
            i += 1
            continue
        tag, i = _read_tag(data, i)
        length, i = _read_length(data, i)
        if i + length > n:
            raise TlvError(f"tag {tag_hex(tag)} declares {length} bytes, {n - i} remain")
        value = bytes(data[i : i + length])
        i += length
        children = _parse(value, depth + 1) if _is_constructed(tag) else ()
        out.append(Tlv(tag, value, children))
    return tuple(out)


def parse(data: bytes) -> tuple[Tlv, ...]:
    """Parse a sequence of BER-TLV objects; raise TlvError on malformed input."""
    return _parse(bytes(data), 0)


def iter_all(tlvs: Iterable[Tlv]) -> Iterator[Tlv]:
    """Yield every object, depth first, parents before children."""
    for t in tlvs:
        yield t
        yield from iter_all(t.children)


def find(tlvs: Iterable[Tlv], tag: int) -> Tlv | None:
    """Return the first object with this tag anywhere in the tree, or None."""
    return next((t for t in iter_all(tlvs) if t.tag == tag), None)


def find_all(tlvs: Iterable[Tlv], tag: int) -> list[Tlv]:
    """Return every object with this tag anywhere in the tree, in order."""
    return [t for t in iter_all(tlvs) if t.tag == tag]


def encode_tag(tag: int) -> bytes:
    """Encode a tag number as its bytes."""
    if tag <= 0:
        raise TlvError("tag must be positive")
    return tag.to_bytes((tag.bit_length() + 7) // 8, "big")


def encode_length(length: int) -> bytes:
    """Encode a length in the shortest BER form."""
    if length < 0:
        raise TlvError("negative length")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > 4:
        raise TlvError("length too large")
    return bytes([0x80 | len(body)]) + body


def encode_one(tag: int, value: bytes | Sequence[Tlv]) -> bytes:
    """Encode one object from a raw value or from child objects."""
    raw = value if isinstance(value, bytes | bytearray) else encode(value)
    return encode_tag(tag) + encode_length(len(raw)) + bytes(raw)


def encode(tlvs: Iterable[Tlv]) -> bytes:
    """Encode objects from their raw values (byte-exact for parsed input; see `Tlv.build`)."""
    out = bytearray()
    for t in tlvs:
        out += encode_one(t.tag, t.value)
    return bytes(out)


def parse_dol(data: bytes) -> list[tuple[int, int]]:
    """Parse a data object list (PDOL, CDOL): tags and lengths without values (Book 3 §5.4)."""
    data = bytes(data)
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(data):
        tag, i = _read_tag(data, i)
        length, i = _read_length(data, i)
        out.append((tag, length))
    return out


def _render_value(t: Tlv) -> dict[str, Any]:
    item: dict[str, Any] = {"tag": tag_hex(t.tag)}
    name = TAG_NAMES.get(t.tag)
    if name:
        item["name"] = name
    if t.constructed:
        item["children"] = [_render_value(c) for c in t.children]
    else:
        item["value"] = t.value.hex().upper()
        if t.tag in _TEXT_TAGS or (t.tag == 0x84 and all(0x20 <= b < 0x7F for b in t.value)):
            item["text"] = t.value.decode("latin-1").strip()
    return item


def to_json(tlvs: Iterable[Tlv]) -> list[dict[str, Any]]:
    """Render objects as nested JSON-ready dicts: tag, name, value (hex) or children."""
    return [_render_value(t) for t in tlvs]
