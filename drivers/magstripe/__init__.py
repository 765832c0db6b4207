"""Magnetic stripe cards and passbooks: track parsing, per-bank passbook rules, readers.

Exports load on first use, so importing one codec module stays free of device libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers._lazy import lazy_exports

if TYPE_CHECKING:
    from drivers.magstripe.passbook import (
        DEFAULT_RULE,
        PassbookRead,
        PassbookRule,
        parse_passbook,
    )
    from drivers.magstripe.readers import (
        MagstripeWatcher,
        MsrResponse,
        SerialMsrReader,
        WedgeReader,
        classify_swipe,
        parse_msr_response,
    )
    from drivers.magstripe.tracks import (
        Swipe,
        TrackData,
        chip_present,
        parse_swipe,
        parse_track,
    )

_EXPORTS = {
    "DEFAULT_RULE": "passbook",
    "PassbookRead": "passbook",
    "PassbookRule": "passbook",
    "parse_passbook": "passbook",
    "MagstripeWatcher": "readers",
    "MsrResponse": "readers",
    "SerialMsrReader": "readers",
    "WedgeReader": "readers",
    "classify_swipe": "readers",
    "parse_msr_response": "readers",
    "Swipe": "tracks",
    "TrackData": "tracks",
    "chip_present": "tracks",
    "parse_swipe": "tracks",
    "parse_track": "tracks",
}
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
__getattr__ = lazy_exports(__name__, _EXPORTS)
