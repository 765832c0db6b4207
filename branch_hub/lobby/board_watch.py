"""The lobby board: its read for the lobby and branch managers, and the hub's periodic check.

Every database and file read runs in a worker thread. The check reads the queue, today's visits
and their claims every `lobby.check_interval_s`, raises a `hub_alert` when a priority customer
is unclaimed for `lobby.unclaimed_alert_s` or a tier's wait passes its `wait_target_s`, and
clears it when that is over. Its clock is injected, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from branch_hub.alerts import Alert, HubAlerts
from branch_hub.cache_sync import CacheSync
from branch_hub.config import BranchConfig
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.board_alerts import due_alerts, is_lobby_alert, tier_names
from branch_hub.lobby.board_figures import (
    CounterState,
    Snapshot,
    WaitingFigures,
    counter_states,
    tally,
)
from branch_hub.outbox import Outbox, OutboxSender

__all__ = ["BoardDesk", "BoardView"]

log = logging.getLogger("branch_hub.lobby.board")
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class BoardView:
    """GET /lobby/board's answer: the figures, the station devices, the links and the alerts."""

    at: datetime
    figures: WaitingFigures
    unclaimed_alert_s: float
    counters: tuple[CounterState, ...]
    devices: tuple[tuple[str, str, str], ...]
    cache: dict[str, Any]
    hq: dict[str, Any]
    alerts: tuple[Alert, ...]
    wait_min: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """Per service, the whole-minute wait a ticket issued now gets ((0, 0): "next")."""

    def to_wire(self) -> dict[str, Any]:
        """JSON form: tickets, tiers, counters and stations only."""
        figures = self.figures
        return {
            "at": self.at.isoformat(),
            "waiting": dict(figures.services),
            "priority_waiting": dict(figures.priority_waiting),
            "tiers": [t.to_wire() for t in figures.tiers],
            "unclaimed": [u.to_wire() for u in figures.unclaimed],
            "unclaimed_alert_s": self.unclaimed_alert_s,
            "counters": [c.to_wire() for c in self.counters],
            "counters_open": sum(1 for c in self.counters if c.open),
            "counters_idle": sum(1 for c in self.counters if c.idle),
            "devices": [{"station": s, "device": d, "condition": c} for s, d, c in self.devices],
            "cache": self.cache,
            "hq": self.hq,
            "alerts": [_alert_wire(a) for a in self.alerts],
            "wait_min": {code: list(pair) for code, pair in self.wait_min.items()},
        }


def _alert_wire(alert: Alert) -> dict[str, Any]:
    wire = alert.wire()
    wire.pop("cleared")
    return wire


def _link(sender: OutboxSender | None) -> str:
    """The HQ link: off (no collector configured), down (the last send failed) or up."""
    if sender is None:
        return "off"
    return "down" if sender.link_failures else "up"


class BoardReader:
    """Reads the lobby's waiting figures: the queue, today's visits and their claims."""

    def __init__(self, config: BranchConfig, lobby: Lobby, clock: Clock) -> None:
        self.config = config
        self.lobby = lobby
        self.clock = clock
        self._services = [s.code for s in config.services]

    def snapshot(self) -> Snapshot:
        """The queue, today's visits and the priority visits' claims, read now (blocking)."""
        lobby = self.lobby
        now = self.clock()
        tickets = lobby.queue.tickets()
        day = now.astimezone(lobby.zone).date().isoformat()
        visits = {v.ticket_id: v for v in lobby.visits.of_day(day)}
        waiting = {t.id for t in tickets if not t.is_terminal}
        claimed = frozenset(
            v.visit_id
            for tid, v in visits.items()
            if v.priority and tid in waiting and lobby.briefing.claimed_by(v.visit_id)
        )
        return Snapshot(now, tickets, visits, claimed)

    def figures(self, snap: Snapshot) -> WaitingFigures:
        """The waiting figures of a snapshot."""
        lobby = self.config.lobby
        return tally(snap, self._services, self.config.tiers, lobby.unclaimed_alert_s)


class BoardDesk(BoardReader):
    """Reads the lobby board and keeps its alerts up to date."""

    def __init__(
        self,
        config: BranchConfig,
        lobby: Lobby,
        alerts: HubAlerts,
        clock: Clock,
        *,
        cache_sync: CacheSync,
        outbox: Outbox,
        sender: OutboxSender | None,
    ) -> None:
        super().__init__(config, lobby, clock)
        self.alerts = alerts
        self.cache_sync = cache_sync
        self.outbox = outbox
        self.sender = sender
        self._names = tier_names(config.tiers)

    async def _run(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    def _links(self) -> tuple[dict[str, Any], dict[str, Any]]:
        status = self.cache_sync.status()
        cache = {k: status[k] for k in ("age_s", "stale", "sequence")}
        stats = self.outbox.stats()
        hq = {
            "link": _link(self.sender),
            "pending": stats["pending"],
            "oldest_pending_at": stats["oldest_pending_at"],
            "last_sent_at": self.outbox.last_sent_at(),
        }
        return cache, hq

    def _read_board(self) -> BoardView:
        snap = self.snapshot()
        dashboard = self.lobby.queue.dashboard()
        counters = counter_states(dashboard.counters)
        cache, hq = self._links()
        devices = tuple(
            (station, device, condition)
            for (station, device), condition in sorted(self.lobby.device_conditions.items())
        )
        lobby_alerts = tuple(a for a in self.alerts.active() if is_lobby_alert(a))
        return BoardView(
            snap.at,
            self.figures(snap),
            self.config.lobby.unclaimed_alert_s,
            counters,
            devices,
            cache,
            hq,
            lobby_alerts,
            {code: r.whole_minutes() for code, r in dashboard.new_ticket_wait.items()},
        )

    async def board(self) -> BoardView:
        """The whole board, read in a worker thread."""
        view: BoardView = await self._run(self._read_board)
        return view

    # -- alerts ------------------------------------------------------------------------------
    async def check(self) -> WaitingFigures:
        """Raise the lobby alerts that are due and clear those whose cause is gone."""
        figures: WaitingFigures = await self._run(lambda: self.figures(self.snapshot()))
        due = due_alerts(figures, self.config.lobby.unclaimed_alert_s, self._names)
        for alert in self.alerts.active():
            if is_lobby_alert(alert) and alert.key not in due:
                await self.alerts.clear(alert.key)
        for alert in due.values():
            await self.alerts.raise_alert(alert)
        return figures

    async def run(self, stop: asyncio.Event) -> None:
        """Check every `lobby.check_interval_s` until `stop` is set; a failed round is logged."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception as exc:  # a bad round must not end the checks
                log.warning("lobby board check failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.lobby.check_interval_s)
