"""Open the lobby's stores and devices for a hub, and close them again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from branch_hub.atrest import AtRestCipher
from branch_hub.config import BranchConfig
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.briefing import Briefing
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.lobby.visits import VisitStore
from branch_hub.queue import QueueStore
from branch_hub.server import HubApp
from sync.cache import CustomerCache

__all__ = ["LobbyHandle", "open_lobby"]

log = logging.getLogger("branch_hub.lobby")


@dataclass
class LobbyHandle:
    """The lobby attached to a hub, with what must be closed at shutdown."""

    lobby: Lobby
    desk: StaffDesk
    own_cache: CustomerCache | None = None

    async def start(self) -> None:
        """Open devices and start handling their events."""
        await self.lobby.start()

    async def close(self) -> None:
        """Stop devices and close the stores."""
        await self.lobby.stop()
        self.lobby.queue.close()
        self.lobby.visits.close()
        self.lobby.briefing.close()
        if self.own_cache is not None:
            self.own_cache.close()


def open_cache(cache_dir: Path) -> CustomerCache | None:
    """Open the customer cache if the hub has its sync key; None means every arrival is a walk-in."""
    key = cache_dir / "hub_sync.key"
    if not key.exists():
        log.warning("no hub sync key in %s: customers cannot be recognised", cache_dir)
        return None
    try:
        return CustomerCache(cache_dir, key)
    except Exception as exc:  # an unreadable cache must not stop the lobby
        log.warning("customer cache unavailable: %s", type(exc).__name__)
        return None


def open_lobby(
    hub: HubApp,
    config: BranchConfig,
    data_dir: Path,
    cipher: AtRestCipher,
    *,
    cache_dir: Path | None = None,
    poll_interval: float = 0.1,
) -> LobbyHandle:
    """Open queue, visits, notes and cache under `data_dir` and attach the lobby to `hub`.

    With the hub's scheduled sync (`hub.cache_sync`) the lobby asks it for the cache on every
    read, so a first version pulled after start is used at once; otherwise (tests, tools) it
    opens `cache_dir` (default `DATA_DIR/cache`, key `hub_sync.key` inside it) itself.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    queue = QueueStore(data_dir / "queue.db", config, lambda: datetime.now(UTC))
    visits = VisitStore(data_dir / "visits.db", cipher)
    briefing = Briefing(config, data_dir / "notes.db", cipher)
    own: CustomerCache | None = None
    provider: Callable[[], CustomerCache | None]
    if hub.cache_sync is not None and cache_dir is None:
        provider = hub.cache_sync.open_cache
    else:
        own = open_cache(cache_dir or data_dir / "cache")

        def provider() -> CustomerCache | None:
            return own

    lobby = Lobby(
        hub,
        config,
        queue=queue,
        visits=visits,
        briefing=briefing,
        cache=provider,
        sim_dir=data_dir / "sim",
        poll_interval=poll_interval,
    )
    desk = StaffDesk(lobby)
    hub.lobby, hub.desk = lobby, desk
    hub.waiting_counts = lobby.waiting_counts
    return LobbyHandle(lobby, desk, own)
