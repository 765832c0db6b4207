"""Benchmark a tablet's catalogue copy taken through a real hub's mirror, against copying its bytes.

python -m bench.catalogue_copy [--products 3000] [--articles 30000] [--opens 15]

HQ publishes a synthetic catalogue with its own tools; a hub built as production (build_hub,
mutual TLS on loopback, HQ's key in its config, a file:// catalogue URL) pulls it; a tablet's
CatalogueCopy then refreshes through GET /api/v1/catalogue/files with the typed client: a first
full copy, a copy after HQ changed 1 % of the products, a refresh when nothing changed, then
`open()` (the check each new copy gets before the screens search it) and `file(name)` for a
picture. The baseline, same run: copying the bytes the first refresh fetched from disk to disk
and hashing them (what a copy without a hub, signatures or an index would at least cost).
Last line: JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import importlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from branch_hub.client import DeviceTls, HubClient
from branch_hub.client.catalogue_copy import CatalogueCopy
from sync.catalogue_bundle import publish_catalogue
from sync.catalogue_model import Catalogue
from sync.catalogue_synth import generate_catalogue
from sync.keys import load_signing_private, write_key_pair

__all__ = ["main", "run"]
AS_OF = date(2026, 5, 1)


def _support(name: str) -> Any:
    # The production-built hub and the branch's test PKI live in tests/support; loaded at run time.
    return importlib.import_module(f"tests.support.{name}")


def _changed(cat: Catalogue, share: float) -> Catalogue:
    """`share` of the products with a changed yield basis (as bench.catalogue changes them)."""
    step = max(1, round(1 / share))
    products = tuple(
        dataclasses.replace(p, yield_basis_zh=p.yield_basis_zh + "（已更新）") if i % step else p
        for i, p in enumerate(cat.products)
    )
    return Catalogue(products, cat.articles, cat.assets)


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = call()
    return result, time.perf_counter() - began


@dataclasses.dataclass
class _Tablet:
    """A tablet's copy and its hub client, timing the fetches each refresh makes."""

    copy: CatalogueCopy
    client: HubClient
    key_hex: str
    fetch_s: float = 0.0

    def _fetch(self, name: str) -> bytes:
        began = time.perf_counter()
        try:
            return self.client.catalogue_file(name)
        finally:
            self.fetch_s += time.perf_counter() - began

    def refresh(self, name: str) -> dict[str, Any]:
        """One refresh, its figures named `name_*` (seconds, of which fetching; chunks; MB)."""
        self.fetch_s = 0.0
        result, seconds = _timed(lambda: self.copy.refresh(self._fetch, self.key_hex))
        return {
            f"{name}_s": round(seconds, 3),
            f"{name}_fetch_s": round(self.fetch_s, 3),
            f"{name}_fetched_chunks": result.fetched_chunks,
            f"{name}_reused_chunks": result.reused_chunks,
            f"{name}_fetched_mb": round(result.fetched_bytes / 1e6, 3),
        }


def _baseline(chunks: Path, into: Path) -> float:
    """Copy the hub's chunks disk to disk and hash each copy: the least a copy could cost."""
    into.mkdir()
    began = time.perf_counter()
    for path in chunks.iterdir():
        target = into / path.name
        shutil.copyfile(path, target)
        hashlib.sha256(target.read_bytes()).hexdigest()
    return time.perf_counter() - began


def _ms(values: list[float], name: str) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        f"{name}_ms_p50": round(statistics.median(ms), 2),
        f"{name}_ms_max": round(ms[-1], 2),
    }


def _use(copy: CatalogueCopy, picture: str, opens: int) -> dict[str, Any]:
    """Time `open()` and `file(picture)` on the copy in use."""
    open_s: list[float] = []
    for _ in range(opens):
        search, seconds = _timed(copy.open)
        search.close()
        open_s.append(seconds)
    file_s = [_timed(lambda: copy.file(picture))[1] for _ in range(opens * 4)]
    return {**_ms(open_s, "open"), **_ms(file_s, "file")}


@dataclasses.dataclass
class _Hq:
    """HQ's key, its publication folder and the catalogue it published."""

    www: Path
    signing: Path
    catalogue: Catalogue

    def publish(self, catalogue: Catalogue) -> None:
        publish_catalogue(catalogue, load_signing_private(self.signing), self.www)


def _hq(root: Path, products: int, articles: int) -> tuple[_Hq, Any]:
    """HQ's key and catalogue, and a branch config whose [hq] reads them."""
    (root / "www").mkdir()
    (root / "hq").mkdir()
    signing, public = root / "hq" / "signing.key", root / "hq" / "signing.pub"
    write_key_pair("hq", signing, public)
    config = _support("lobbyenv").branch_config()
    update = {"catalogue_url": (root / "www").as_uri() + "/", "signing_public_key": str(public)}
    config = config.model_copy(update={"hq": config.hq.model_copy(update=update)})
    catalogue = generate_catalogue(products, articles, seed=1, as_of=AS_OF)
    return _Hq(root / "www", signing, catalogue), config


async def _pulled(hub: Any) -> None:
    if not await hub.catalogue.pull_now():
        raise RuntimeError("the hub did not apply HQ's catalogue")


async def _scenario(root: Path, hq: _Hq, config: Any, opens: int) -> dict[str, Any]:
    tls = _support("tlsenv").make_tls_env(root / "pki")
    loop = asyncio.get_running_loop()

    def off(call: Callable[..., Any], *args: Any) -> Any:
        return loop.run_in_executor(None, call, *args)

    async with _support("hubkit").served_hub(config, root / "hub", tls) as (hub, url):
        hq.publish(hq.catalogue)
        await _pulled(hub)
        cert, key = tls.client("tab-1", "tablet")
        client = HubClient(url, DeviceTls(cert, key, tls.ca_path))
        tablet = _Tablet(CatalogueCopy(root / "tablet"), client, await off(client.catalogue_key))
        figures: dict[str, Any] = await off(tablet.refresh, "first")
        store = hub.catalogue.settings.store / "current" / "chunks"
        figures["baseline_copy_s"] = round(await off(_baseline, store, root / "plain"), 4)
        hq.publish(_changed(hq.catalogue, 0.01))
        await _pulled(hub)
        figures |= await off(tablet.refresh, "delta")
        figures |= await off(tablet.refresh, "same")
    picture = next(p.image for p in hq.catalogue.products if p.image)
    figures |= await off(_use, tablet.copy, picture, opens)
    return figures


def _size_mb(folder: Path, pattern: str) -> float:
    return round(sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file()) / 1e6, 2)


def run(products: int, articles: int, opens: int) -> dict[str, Any]:
    """Publish, pull, copy and open; return the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-catalogue-copy-") as tmp:
        root = Path(tmp)
        hq, config = _hq(root, products, articles)
        figures = asyncio.run(_scenario(root, hq, config, opens))
        figures["index_mb"] = _size_mb(root / "tablet", "v2-*/index.sqlite")
        figures["copy_chunks_mb"] = _size_mb(root / "tablet", "v2-*/chunks/*")
    return {
        "products": products,
        "articles": articles,
        "files": len(hq.catalogue.assets),
        **figures,
        "first_vs_baseline_ratio": round(
            figures["first_s"] / max(figures["baseline_copy_s"], 1e-6), 1
        ),
        "delta_vs_first_ratio": round(figures["delta_s"] / figures["first_s"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON figures last."""
    parser = argparse.ArgumentParser(prog="python -m bench.catalogue_copy", description=__doc__)
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--articles", type=int, default=30000)
    parser.add_argument("--opens", type=int, default=15, help="open() calls timed (default 15)")
    args = parser.parse_args(argv)
    figures = run(args.products, args.articles, args.opens)
    for key, value in figures.items():
        print(f"{key:>28}: {value}", file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
