"""The hub's scheduled pull of HQ's customer bundles and the cache's status on /health."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from branch_hub.config import BranchConfig
from branch_hub.security.hashing import malloc_trim
from branch_hub.vocabulary import EventKind
from sync.cache import CustomerCache, cache_status
from sync.errors import SyncError
from sync.keys import load_hub_private, load_signing_public
from sync.puller import pull

__all__ = ["CacheSync", "SyncSettings"]

log = logging.getLogger("branch_hub.cache_sync")

Emit = Callable[[str, dict[str, Any]], Awaitable[object]]


@dataclass(frozen=True)
class SyncSettings:
    """Everything a scheduled pull needs, with paths resolved."""

    url: str
    cache_dir: Path
    hub_key: Path
    hq_public: Path | None
    ca_file: Path | None
    branch_id: str
    interval_s: float
    stale_after_s: float
    retries: int = 5
    backoff_s: float = 0.5

    @classmethod
    def from_config(cls, config: BranchConfig, config_path: Path, data_dir: Path) -> SyncSettings:
        """Resolve the `[hq]` paths: keys and CA relative to the config file, the hub key to data."""
        base = Path(config_path).resolve().parent
        hq = config.hq

        def near_config(value: str) -> Path | None:
            return (base / value) if value else None

        return cls(
            url=hq.bundle_url,
            cache_dir=data_dir / "cache",
            hub_key=data_dir / hq.sync_key_file,
            hq_public=near_config(hq.signing_public_key),
            ca_file=near_config(hq.ca_file),
            branch_id=config.branch.id,
            interval_s=hq.pull_interval_s,
            stale_after_s=hq.stale_after_s,
        )


class CacheSync:
    """Pull on a jittered schedule, keep one open `CustomerCache`, report sequence, age and staleness."""

    def __init__(
        self,
        settings: SyncSettings,
        emit: Emit | None = None,
        *,
        trim: Callable[[], object] = malloc_trim,
    ) -> None:
        self.settings = settings
        self._emit = emit
        self._trim = trim
        self.cache: CustomerCache | None = None
        self.last_pull_at: float | None = None
        self.last_error: str | None = None
        self._stale_reported: bool | None = None
        self._lock = asyncio.Lock()
        # open_cache reads files, so it runs in worker threads (the pull's and the lookups').
        self._opening = threading.Lock()

    def open_cache(self) -> CustomerCache | None:
        """Open the cache read side if the hub has its key and a first version was applied."""
        with self._opening:
            if self.cache is not None:
                return self.cache
            try:
                if (
                    not self.settings.hub_key.exists()
                    or cache_status(self.settings.cache_dir) is None
                ):
                    return None
                self.cache = CustomerCache(self.settings.cache_dir, self.settings.hub_key)
            except SyncError as exc:
                self.last_error = str(exc)
                log.warning("customer cache unusable: %s", exc)
            return self.cache

    def status(self) -> dict[str, Any]:
        """The cache figures for /health: sequence, age, staleness and the last pull's outcome."""
        try:
            current = cache_status(self.settings.cache_dir)
        except SyncError as exc:
            current, self.last_error = None, str(exc)
        age = current.age_s if current else None
        return {
            "sequence": current.sequence if current else 0,
            "key_id": current.key_id if current else None,
            "age_s": round(age, 1) if age is not None else None,
            "stale": self.stale(age),
            "scheduled": bool(self.settings.url),
            "last_pull_at": self.last_pull_at,
            "last_error": self.last_error,
        }

    def stale(self, age_s: float | None) -> bool:
        """A cache is stale when it is missing or older than `hq.stale_after_s`."""
        return age_s is None or age_s > self.settings.stale_after_s

    def _pull_blocking(self) -> str:
        s = self.settings
        if s.hq_public is None:
            raise SyncError("hq.signing_public_key is not configured")
        try:
            result = pull(
                s.url,
                s.cache_dir,
                hq_public=load_signing_public(s.hq_public),
                hub_key=load_hub_private(s.hub_key),
                branch_id=s.branch_id,
                ca_file=s.ca_file,
                progress=False,
                retries=s.retries,
                backoff_s=s.backoff_s,
            )
        except SyncError:
            self._trim()  # a failed apply freed as much as a good one
            raise
        if result.up_to_date:
            return "up to date"
        # The apply's page cache, index sorts and chunk buffers were freed into this thread's
        # malloc arena, which glibc keeps: hand them back or the hub's RSS stays at its peak.
        self._trim()
        return f"applied {', '.join(result.applied)}"

    async def pull_now(self) -> bool:
        """Run one pull off the event loop; True if it succeeded. Failures keep the last version."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            try:
                what = await loop.run_in_executor(None, self._pull_blocking)
            except SyncError as exc:
                # Sync errors name files, sequences and branches, never customer data.
                self.last_error = str(exc)
                log.warning("scheduled pull failed: %s", exc)
                ok = False
            else:
                self.last_error = None
                log.info("scheduled pull: %s", what)
                ok = True
            self.last_pull_at = time.time()
            await loop.run_in_executor(None, self.open_cache)
            await self.report_staleness()
            return ok

    async def report_staleness(self) -> None:
        """Push a `cache_stale` event whenever staleness changes (and once at start if stale)."""
        status = await asyncio.get_running_loop().run_in_executor(None, self.status)
        stale = bool(status["stale"])
        if stale == self._stale_reported or (self._stale_reported is None and not stale):
            self._stale_reported = stale
            return
        self._stale_reported = stale
        if self._emit is not None:
            await self._emit(
                EventKind.CACHE_STALE,
                {
                    "stale": stale,
                    "sequence": status["sequence"],
                    "age_s": status["age_s"],
                    "reason": self.last_error
                    or ("no customer data yet" if status["sequence"] == 0 else "too old"),
                },
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Pull at start, then every `interval_s` (±10 % jitter so branches do not pull in step)."""
        await asyncio.get_running_loop().run_in_executor(None, self.open_cache)
        if not self.settings.url:
            await self.report_staleness()
            return
        while not stop.is_set():
            await self.pull_now()
            delay = self.settings.interval_s * random.uniform(0.9, 1.1)  # noqa: S311 - jitter only
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                continue

    def close(self) -> None:
        """Close the cache and forget its keys."""
        if self.cache is not None:
            self.cache.close()
            self.cache = None
