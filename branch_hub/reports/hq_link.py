"""The HQ link's figures for a period: what reached HQ, how late, what still waits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from branch_hub.database import HubDatabase
from branch_hub.reports.stats import duration_summary

__all__ = ["hq_link"]


def hq_link(db: HubDatabase, days: Sequence[str]) -> dict[str, Any]:
    """Records for HQ of the period's days by state, the lag to HQ's receipt, days batched."""
    marks = ",".join("?" * len(days))
    with db.reading() as conn:
        rows = conn.execute(
            f"SELECT state, at, sent_at FROM outbox WHERE business_day IN ({marks})",  # noqa: S608
            tuple(days),
        ).fetchall()
        batched = conn.execute(
            f"SELECT COUNT(*) FROM outbox_batches WHERE business_day IN ({marks})",  # noqa: S608
            tuple(days),
        ).fetchone()[0]
    lags = [
        (datetime.fromisoformat(sent) - datetime.fromisoformat(at)).total_seconds()
        for state, at, sent in rows
        if state == "sent" and sent
    ]
    pending = [at for state, at, _ in rows if state == "pending"]
    return {
        "records": len(rows),
        "sent": len(lags),
        "pending": len(pending),
        "rejected": sum(state == "rejected" for state, _, _ in rows),
        "oldest_pending_at": min(pending) if pending else None,
        "lag": duration_summary(lags),
        "days_batched": int(batched),
    }
