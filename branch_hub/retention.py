"""Retention: where a business day starts, and the pruner that deletes history past its keep.

The push log keeps `[retention] push_days` business days before today (today always); the
outbox keeps acknowledged outcomes `outbox_sent_days` days once HQ holds their day's batch, and
never deletes anything HQ has not acknowledged. `Pruner.run(stop)` does a round every
`prune_interval_s` seconds in a worker thread, a bounded batch per transaction, so appends and
the live stream are never held up for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from branch_hub.config import RetentionSettings
from branch_hub.outbox import Outbox
from branch_hub.push import EventLog

__all__ = ["PruneRound", "Pruner", "business_date", "business_day_start", "today_start"]

log = logging.getLogger("branch_hub.retention")


def business_date(timezone: str, now: datetime) -> date:
    """Return the branch's business day (its local date) at an instant."""
    return now.astimezone(ZoneInfo(timezone)).date()


def business_day_start(timezone: str, day: date) -> datetime:
    """Return the instant (UTC) at which a business day starts: local midnight."""
    # A midnight skipped by a clock change maps to the instant the clocks jumped.
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def today_start(timezone: str, now: datetime | None = None) -> datetime:
    """Return the instant (UTC) at which the current business day started."""
    now = now or datetime.now(UTC)
    return business_day_start(timezone, business_date(timezone, now))


@dataclass(frozen=True)
class PruneRound:
    """What one pruning round did (counts only: nothing personal)."""

    push_events: int
    outbox_sent: int
    outbox_requeued: int


class Pruner:
    """Deletes push history and delivered outcomes past their retention, on a schedule."""

    def __init__(
        self,
        event_log: EventLog,
        outbox: Outbox | None,
        settings: RetentionSettings,
        timezone: str,
        *,
        clock: Callable[[], datetime] | None = None,
        first_delay_s: float = 60.0,
        answered: Callable[[str], int] | None = None,
    ) -> None:
        self.event_log = event_log
        self.answered = answered  # forgets remembered answers of days before the given one
        self.outbox = outbox
        self.settings = settings
        self.timezone = timezone
        self.clock = clock or (lambda: datetime.now(UTC))
        self.first_delay_s = min(first_delay_s, settings.prune_interval_s)
        self._requeued_on: date | None = None

    def prune_now(self, keep_going: Callable[[], bool] = lambda: True) -> PruneRound:
        """Run one round (blocking: call it in a worker thread)."""
        today = business_date(self.timezone, self.clock())
        push_cut = business_day_start(self.timezone, today - timedelta(self.settings.push_days))
        pushed = self.event_log.prune(push_cut, keep_going=keep_going)
        purged = requeued = 0
        if self.outbox is not None and keep_going():
            purged = self.outbox.purge(
                (today - timedelta(self.settings.outbox_sent_days)).isoformat()
            )
            if self.settings.requeue_rejected_daily and self._requeued_on != today:
                requeued = self.outbox.requeue_rejected()
                self._requeued_on = today
        if self.answered is not None and keep_going():
            # A device retries within seconds; yesterday's answers are never asked for again.
            self.answered(today.isoformat())
        return PruneRound(pushed, purged, requeued)

    async def run(self, stop: asyncio.Event) -> None:
        """Prune every `prune_interval_s` seconds until `stop` is set; a failed round is retried."""
        loop = asyncio.get_running_loop()
        wait = self.first_delay_s
        while not await _stopped(stop, wait):
            wait = self.settings.prune_interval_s
            try:
                done = await loop.run_in_executor(None, self.prune_now, lambda: not stop.is_set())
            except Exception:
                log.exception("pruning round failed; trying again next round")
                continue
            if done.push_events or done.outbox_sent or done.outbox_requeued:
                log.info(
                    "pruned %d push events and %d delivered outcomes; re-queued %d refused",
                    done.push_events,
                    done.outbox_sent,
                    done.outbox_requeued,
                )


async def _stopped(stop: asyncio.Event, timeout_s: float) -> bool:
    """Wait up to `timeout_s` for `stop`; return whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout_s)
    return stop.is_set()
