"""Magnetic stripe track text: ISO/IEC 7813 tracks 1/2, ISO/IEC 4909 and Chinese track 3.

Pure functions over the decoded characters a reader delivers. Tolerant of what readers do:
sentinels present or not (% ; + ?), the field separator rendered '=', '>', "'" or 'D' (EMV
track-2-equivalent), trailing LRC characters, CR/LF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import TrackError


def _isdigits(text: str) -> bool:
    # str.isdigit() accepts non-ASCII digits such as "²"; a stripe carries ASCII only.
    return text.isascii() and text.isdigit()


__all__ = [
    "Swipe",
    "TrackData",
    "chip_present",
    "parse_swipe",
    "parse_track",
    "parse_track1",
    "parse_track2",
    "parse_track3",
]

# A numeric track's field separator '=' (5-bit 0b10110) as some readers/hosts render it.
_SEPARATORS = str.maketrans({">": "=", "'": "=", "D": "=", "d": "="})
_NUMERIC = re.compile(r"[0-9=]*")
MAX_TRACK = 120  # track 3 holds up to 107 characters (ISO/IEC 4909); more is not a track


@dataclass(frozen=True)
class TrackData:
    """What one track says; account, name and fields stay out of repr (personal data)."""

    track: int
    account: str = field(repr=False)
    expiry: str | None = None  # YYMM
    service_code: str | None = None
    name: str | None = field(default=None, repr=False)
    format_code: str | None = None
    fields: tuple[str, ...] = field(default=(), repr=False)  # raw fields split on '='

    @property
    def chip(self) -> bool | None:
        """Tell whether the service code says an IC chip is present (first digit 2 or 6)."""
        return chip_present(self.service_code) if self.service_code else None

    def to_json(self) -> dict[str, Any]:
        """Render as a JSON object."""
        return {
            "track": self.track,
            "account": self.account,
            "expiry": self.expiry,
            "service_code": self.service_code,
            "chip": self.chip,
            "name": self.name,
            "format_code": self.format_code,
        }


def chip_present(service_code: str) -> bool:
    """Service code first digit 2 or 6: international/national interchange with an IC (ISO 7813)."""
    return service_code[:1] in ("2", "6")


def _strip(text: str, starts: str) -> str:
    text = text.strip().strip("\r\n")
    if text[:1] in starts:
        text = text[1:]
    end = text.find("?")
    if end >= 0:
        text = text[:end]  # what follows the end sentinel is the LRC
    if len(text) > MAX_TRACK:
        raise TrackError("track text longer than any magnetic track")
    return text


def _check_account(account: str, what: str, low: int = 12, high: int = 19) -> str:
    if not _isdigits(account) or not low <= len(account) <= high:
        raise TrackError(f"{what}: account must be {low}-{high} digits")
    return account


def _expiry(digits: str) -> str | None:
    return digits if len(digits) == 4 and _isdigits(digits) else None


def parse_track1(text: str) -> TrackData:
    """Parse track 1 (format B): %B PAN ^ NAME ^ YYMM SSS discretionary ? (ISO/IEC 7813)."""
    body = _strip(text, "%")
    if body[:1].upper() != "B":
        raise TrackError("track 1: only format code B (bank cards) is supported")
    parts = body[1:].split("^", 2)
    if len(parts) != 3:
        raise TrackError("track 1: expected PAN ^ NAME ^ data")
    pan = _check_account(parts[0].replace(" ", ""), "track 1")
    name = parts[1].strip().replace("/", " ").strip() or None
    if len(parts[1]) > 26:
        raise TrackError("track 1: name longer than 26 characters")
    rest = parts[2]
    expiry = _expiry(rest[:4])
    service = rest[4:7] if len(rest) >= 7 and _isdigits(rest[4:7]) else None
    return TrackData(1, pan, expiry, service, name, "B", tuple(parts))


def _numeric_fields(text: str, starts: str, what: str) -> list[str]:
    body = _strip(text, starts).translate(_SEPARATORS).replace(" ", "")
    if not body or not _NUMERIC.fullmatch(body):
        raise TrackError(f"{what}: only digits and separators are allowed")
    return body.split("=")


def parse_track2(text: str) -> TrackData:
    """Parse track 2: ; PAN = YYMM SSS discretionary ? (ISO/IEC 7813)."""
    fields = _numeric_fields(text, ";", "track 2")
    if len(fields) < 2:
        raise TrackError("track 2: no field separator after the account")
    pan = _check_account(fields[0], "track 2")
    rest = fields[1]
    expiry = _expiry(rest[:4])
    service = rest[4:7] if len(rest) >= 7 else None
    return TrackData(2, pan, expiry, service, None, None, tuple(fields))


# ISO/IEC 4909 format codes: 01/02 ISO layouts, 90-99 issuer-specific (China: 99).
_TRACK3_FORMATS = {"01", "02"} | {str(n) for n in range(90, 100)}


def parse_track3(text: str) -> TrackData:
    """Parse track 3: FC PAN = ... (ISO/IEC 4909; Chinese cards use format code 99)."""
    fields = _numeric_fields(text, ";+", "track 3")
    head = fields[0]
    fc: str | None = None
    if head[:2] in _TRACK3_FORMATS and len(head) >= 14:
        fc, head = head[:2], head[2:]
    pan = _check_account(head, "track 3")
    expiry = None
    if fc == "99" and len(fields) > 1 and len(fields[1]) == 40:
        # 40-digit block in ISO 4909:1987 order; expiry YYMM at offset 35 (docs/protocols.md#stripe-track-3).
        candidate = fields[1][35:39]
        if "01" <= candidate[2:] <= "12":
            expiry = candidate
    return TrackData(3, pan, expiry, None, None, fc, tuple(fields))


def parse_track(text: str, track: int | None = None) -> TrackData:
    """Parse one track; guess which from its shape when `track` is None."""
    if track == 1:
        return parse_track1(text)
    if track == 2:
        return parse_track2(text)
    if track == 3:
        return parse_track3(text)
    if track is not None:
        raise TrackError(f"no track {track}")
    stripped = text.strip()
    if stripped[:1] == "%" or "^" in stripped:
        return parse_track1(text)
    if stripped[:1] == "+":
        return parse_track3(text)
    fields = _numeric_fields(text, ";", "track")
    if len(fields[0]) >= 14 and fields[0][:2] in _TRACK3_FORMATS and sum(map(len, fields[1:])) > 30:
        return parse_track3(text)
    return parse_track2(text)


@dataclass(frozen=True)
class Swipe:
    """The tracks of one swipe as a keyboard-wedge reader types them, e.g. `%...?;...?+...?`."""

    tracks: dict[int, TrackData]
    raw: dict[int, str] = field(repr=False)

    @property
    def account(self) -> str | None:
        """The card's PAN: track 2, else track 1, else track 3."""
        for n in (2, 1, 3):
            if n in self.tracks:
                return self.tracks[n].account
        return None


_SEGMENT = re.compile(r"([%;+])([^%;+?]*)\??")


def split_swipe(text: str) -> dict[int, str]:
    """Split a wedge line into raw tracks by sentinel; a second ';' segment is track 3."""
    out: dict[int, str] = {}
    for start, body in _SEGMENT.findall(text.strip()):
        if start == "%":
            n = 1
        elif start == "+":
            n = 3
        else:
            n = 2 if 2 not in out else 3
        if n not in out and body:
            out[n] = body
    if not out and text.strip():
        out[2] = text.strip()  # a reader configured to send no sentinels: one numeric track
    return out


def parse_swipe(text: str) -> Swipe:
    """Parse a whole swipe line; tracks that fail to parse are left out, none parsed is an error."""
    raw = split_swipe(text)
    tracks: dict[int, TrackData] = {}
    errors: list[str] = []
    for n, body in raw.items():
        try:
            tracks[n] = parse_track(body, n)
        except TrackError as exc:
            errors.append(str(exc))
    if not tracks:
        raise TrackError("no readable track in the swipe" + (f" ({errors[0]})" if errors else ""))
    return Swipe(tracks, raw)
