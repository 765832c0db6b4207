"""EMV / PBOC bank-card reading over any APDU transport (PC/SC in production)."""

from __future__ import annotations

from drivers.emv.apdu import CardTransport, describe_sw, exchange
from drivers.emv.reader import CHINA_TERMINAL, CardRead, EmvReader, parse_track2_equivalent
from drivers.emv.selection import DEFAULT_AIDS, Candidate, KnownAid

__all__ = [
    "CHINA_TERMINAL",
    "DEFAULT_AIDS",
    "Candidate",
    "CardRead",
    "CardTransport",
    "EmvReader",
    "KnownAid",
    "describe_sw",
    "exchange",
    "parse_track2_equivalent",
]
