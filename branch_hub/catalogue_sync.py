"""The hub's scheduled pull of HQ's product catalogue and the search index it serves to tablets.

Pulls and index builds run in worker threads. A new index is built aside and swapped in whole
once built, so a search sees one catalogue or the next, never half of each; a refused bundle
keeps the catalogue (and index) already applied.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from branch_hub.briefs import ProductFacts
from branch_hub.client.catalogue_index import build_index
from branch_hub.client.catalogue_search import CatalogueSearch, ProductHit
from branch_hub.config import BranchConfig
from sync.catalogue_model import CATEGORIES
from sync.catalogue_pull import CatalogueStatus, load_catalogue, pull_catalogue
from sync.errors import SyncError
from sync.keys import load_signing_public

__all__ = ["CATEGORIES", "MAX_PRODUCTS", "CatalogueNotReady", "CatalogueSettings", "CatalogueSync"]

log = logging.getLogger("branch_hub.catalogue_sync")

MAX_PRODUCTS = 100  # one answer's most products


class CatalogueNotReady(Exception):
    """No catalogue has been applied (and indexed) on this hub yet."""


@dataclass(frozen=True)
class CatalogueSettings:
    """Where the catalogue comes from and where the hub keeps it."""

    url: str
    store: Path
    index: Path
    hq_public: Path | None
    ca_file: Path | None
    interval_s: float
    retries: int = 5
    backoff_s: float = 0.5

    @classmethod
    def from_config(
        cls, config: BranchConfig, config_path: Path, data_dir: Path
    ) -> CatalogueSettings:
        """Resolve `[hq]`: keys and CA relative to the config file, the store in the data folder."""
        base = Path(config_path).resolve().parent
        hq = config.hq
        return cls(
            url=hq.catalogue_url,
            store=data_dir / "catalogue",
            index=data_dir / "catalogue-index.sqlite",
            hq_public=(base / hq.signing_public_key) if hq.signing_public_key else None,
            ca_file=(base / hq.ca_file) if hq.ca_file else None,
            interval_s=hq.pull_interval_s,
        )


@dataclass(frozen=True)
class _Indexed:
    status: CatalogueStatus
    search: CatalogueSearch
    facts: Mapping[str, ProductFacts]  # by code: what briefs and views judge, a dict lookup each


class CatalogueSync:
    """Pull on a jittered schedule; keep the applied catalogue's status and its search index."""

    def __init__(self, settings: CatalogueSettings, today: Callable[[], date]) -> None:
        self.settings = settings
        self._today = today
        self._current: _Indexed | None = None
        self._retired: CatalogueSearch | None = None  # closed at the next swap, not under a reader
        self._lock = asyncio.Lock()

    def _pull_blocking(self) -> bool:
        s = self.settings
        if s.hq_public is None:
            raise SyncError("hq.signing_public_key is not configured")
        result = pull_catalogue(
            s.url,
            s.store,
            hq_public=load_signing_public(s.hq_public),
            ca_file=s.ca_file,
            progress=False,
            retries=s.retries,
            backoff_s=s.backoff_s,
        )
        return result.applied

    def _index_blocking(self) -> _Indexed | None:
        """Index the applied catalogue unless the current index already holds its version."""
        applied = load_catalogue(self.settings.store)
        if applied is None:
            return None
        current = self._current
        if current is not None and current.status.sequence == applied.status.sequence:
            return current
        products = [p.to_dict() for p in applied.catalogue.products]
        articles = [a.to_dict() for a in applied.catalogue.articles]
        build_index(self.settings.index, products, articles, str(applied.status.sequence))
        facts = {
            p.code: ProductFacts(p.code, p.name_zh, p.risk, p.valid_from, p.valid_to)
            for p in applied.catalogue.products
        }
        return _Indexed(applied.status, CatalogueSearch(self.settings.index), facts)

    async def refresh(self) -> None:
        """Index whatever catalogue is applied (at start, and after a pull applied one)."""
        loop = asyncio.get_running_loop()
        try:
            fresh = await loop.run_in_executor(None, self._index_blocking)
        except (SyncError, OSError, RuntimeError) as exc:
            log.warning("catalogue not indexed: %s", exc)
            return
        if fresh is None or fresh is self._current:
            return
        if self._retired is not None:
            self._retired.close()
        self._retired = self._current.search if self._current is not None else None
        self._current = fresh
        log.info("catalogue %d indexed", fresh.status.sequence)

    async def pull_now(self) -> bool:
        """Run one pull off the event loop; True if it succeeded. A refusal keeps the last version."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            try:
                applied = await loop.run_in_executor(None, self._pull_blocking)
            except (SyncError, OSError) as exc:  # the schedule outlives a full disk or a bad URL
                log.warning("catalogue pull refused, keeping the last one: %s", exc)
                return False
            if applied or self._current is None:
                await self.refresh()
            return True

    async def run(self, stop: asyncio.Event) -> None:
        """Index what is applied, then pull at start and every `interval_s` (±10 % jitter)."""
        await self.refresh()
        if not self.settings.url:
            return
        while not stop.is_set():
            await self.pull_now()
            delay = self.settings.interval_s * random.uniform(0.9, 1.1)  # noqa: S311 - jitter only
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                continue

    def status(self) -> CatalogueStatus:
        """The catalogue the hub serves, or CatalogueNotReady."""
        if self._current is None:
            raise CatalogueNotReady
        return self._current.status

    def facts(self) -> Mapping[str, ProductFacts] | None:
        """The applied catalogue's products by code (None before the first); never blocks."""
        current = self._current
        return current.facts if current is not None else None

    async def products(
        self, query: str, categories: Collection[str], max_risk: str | None, limit: int
    ) -> tuple[CatalogueStatus, list[ProductHit]]:
        """Products on sale today matching every word of `query`, searched off the loop."""
        current = self._current
        if current is None:
            raise CatalogueNotReady
        today = self._today()
        limit = max(1, min(limit, MAX_PRODUCTS))
        hits = await asyncio.get_running_loop().run_in_executor(
            None, current.search.products, query, today, categories, max_risk, limit
        )
        return current.status, hits

    def close(self) -> None:
        """Release the index files."""
        for search in (self._retired, self._current.search if self._current else None):
            if search is not None:
                search.close()
        self._current = self._retired = None
