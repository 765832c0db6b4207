"""EMV / PBOC bank-card reading over any APDU transport (PC/SC in production).

Exports load on first use, so importing one codec module stays free of device libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers._lazy import lazy_exports

if TYPE_CHECKING:
    from drivers.emv.apdu import (
        CardTransport,
        describe_sw,
        exchange,
    )
    from drivers.emv.reader import (
        CHINA_TERMINAL,
        CardRead,
        EmvReader,
        parse_track2_equivalent,
    )
    from drivers.emv.selection import (
        DEFAULT_AIDS,
        Candidate,
        KnownAid,
    )

_EXPORTS = {
    "CardTransport": "apdu",
    "describe_sw": "apdu",
    "exchange": "apdu",
    "CHINA_TERMINAL": "reader",
    "CardRead": "reader",
    "EmvReader": "reader",
    "parse_track2_equivalent": "reader",
    "DEFAULT_AIDS": "selection",
    "Candidate": "selection",
    "KnownAid": "selection",
}
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
__getattr__ = lazy_exports(__name__, _EXPORTS)
