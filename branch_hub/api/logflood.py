"""Keeping asyncio's and aiohttp's connection errors from flooding the log.

Every broken connection can make asyncio or aiohttp log a line with a traceback ("Error handling
request", "Fatal error on SSL transport", a reset); a client that breaks thousands of connections
would write hundreds of megabytes. The filter lets one line of each kind through a minute, counts
the rest, and a summary line says how many of which kind were held back.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

__all__ = ["FLOOD_LOGGERS", "LogFloodFilter", "install_flood_filter"]

log = logging.getLogger("branch_hub.api.logs")

FLOOD_LOGGERS = ("asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.internal")
EVERY_S = 60.0
MAX_KINDS = 1024  # kinds remembered; past it, one catch-all kind
_VARYING = re.compile(r"0x[0-9a-fA-F]+|\d+")


def _kind(record: logging.LogRecord) -> str:
    """What makes two lines the same kind: logger, level, first line without numbers, error."""
    text = record.msg if isinstance(record.msg, str) and record.args else record.getMessage()
    first = _VARYING.sub("#", str(text).split("\n", 1)[0])[:120]
    error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
    return f"{record.name}: {first}" + (f" ({error})" if error else "")


class LogFloodFilter(logging.Filter):
    """Pass one warning-or-worse line per kind a minute; count the lines held back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, every_s: float = EVERY_S):
        super().__init__()
        self._clock = clock
        self._every_s = every_s
        self._passed: dict[str, float] = {}  # kind -> when its last line went through
        self.held: dict[str, int] = {}  # kind -> lines held back since the last summary
        self.held_total = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Let the record through unless a line of its kind went through lately."""
        if record.levelno < logging.WARNING:
            return True
        kind = _kind(record)
        now = self._clock()
        if kind not in self._passed and len(self._passed) >= MAX_KINDS:
            self._passed = {k: at for k, at in self._passed.items() if now - at < self._every_s}
            if len(self._passed) >= MAX_KINDS:
                kind = "(other kinds)"
        last = self._passed.get(kind)
        if last is not None and now - last < self._every_s:
            self.held[kind] = self.held.get(kind, 0) + 1
            self.held_total += 1
            return False
        self._passed[kind] = now
        return True

    def report(self) -> int:
        """Log one line naming how many lines of each kind were held back; return how many."""
        held, self.held = self.held, {}
        total = sum(held.values())
        if total:
            worst = sorted(held.items(), key=lambda item: -item[1])[:5]
            kinds = "; ".join(f"{count} × {kind}" for kind, count in worst)
            more = f"; and {len(held) - 5} more kinds" if len(held) > 5 else ""
            log.warning("held back %d repeated log lines: %s%s", total, kinds, more)
        return total


def install_flood_filter() -> LogFloodFilter:
    """Put the process's one flood filter on asyncio's and aiohttp's loggers; return it."""
    for name in FLOOD_LOGGERS:
        for existing in logging.getLogger(name).filters:
            if isinstance(existing, LogFloodFilter):
                return existing
    flood = LogFloodFilter()
    for name in FLOOD_LOGGERS:
        logging.getLogger(name).addFilter(flood)
    return flood
