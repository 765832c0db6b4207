"""Magnetic stripe cards and passbooks: track parsing, per-bank passbook rules, readers."""

from __future__ import annotations

from drivers.magstripe.passbook import DEFAULT_RULE, PassbookRead, PassbookRule, parse_passbook
from drivers.magstripe.readers import (
    MagstripeWatcher,
    MsrResponse,
    SerialMsrReader,
    WedgeReader,
    classify_swipe,
    parse_msr_response,
)
from drivers.magstripe.tracks import Swipe, TrackData, chip_present, parse_swipe, parse_track

__all__ = [
    "DEFAULT_RULE",
    "MagstripeWatcher",
    "MsrResponse",
    "PassbookRead",
    "PassbookRule",
    "SerialMsrReader",
    "Swipe",
    "TrackData",
    "WedgeReader",
    "chip_present",
    "classify_swipe",
    "parse_msr_response",
    "parse_passbook",
    "parse_swipe",
    "parse_track",
]
