"""Device faults and time down from the live event log's `device_alert` events.

The live event log keeps `[retention] push_days` business days, so these figures are complete
only when the log still holds the period's start (`complete`); `kept_from` says from when it
holds events. A device is down from an alert that is not a clear until its clear (or the end of
the period, or now); a fault already open when the period began is not seen.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from branch_hub.push import EventLog
from branch_hub.vocabulary import EventKind

__all__ = ["device_figures"]

_MANY = 100_000  # more alerts than any branch raises in a month


def device_figures(log: EventLog, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Faults and minutes down per station device in [start, end) (blocking: a worker's)."""
    oldest = log.since(log.first_seq() - 1, 1) if log.first_seq() else []
    kept_from = datetime.fromisoformat(oldest[0].at) if oldest else None
    first, last = log.first_seq_at(start), log.first_seq_at(end)
    alerts = (
        list(reversed(log.latest({EventKind.DEVICE_ALERT}, first, last, _MANY)))
        if first is not None
        else []
    )
    faults: Counter[tuple[str, str]] = Counter()
    down_s: defaultdict[tuple[str, str], float] = defaultdict(float)
    since: dict[tuple[str, str], datetime] = {}
    for event in alerts:
        key = (str(event.data.get("station")), str(event.data.get("device")))
        at = datetime.fromisoformat(event.at)
        if event.data.get("cleared"):
            if key in since:
                down_s[key] += (at - since.pop(key)).total_seconds()
        else:
            faults[key] += 1
            since.setdefault(key, at)
    for key, at in since.items():
        down_s[key] += max(0.0, (min(end, now) - at).total_seconds())
    return {
        "complete": kept_from is not None and kept_from <= start,
        "kept_from": kept_from.isoformat(timespec="seconds") if kept_from else None,
        "by_device": [
            {
                "station": s,
                "device": d,
                "faults": faults[(s, d)],
                "minutes_down": round(down_s[(s, d)] / 60, 1),
            }
            for s, d in sorted(set(faults) | set(down_s))
        ],
    }
