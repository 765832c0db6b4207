"""A branch's catalogue store: pull HQ's signed catalogue, check every item and file, switch at once.

```
STORE/current -> v<seq>-<rand>       symlink, replaced with one rename
STORE/v<seq>-<rand>/manifest.json    the signed manifest as received
STORE/v<seq>-<rand>/latest.json      HQ's signed pointer to it, as received (the hub's mirror)
STORE/v<seq>-<rand>/chunks/<sha256>  the verified chunks (kept: the next pull reuses them)
STORE/v<seq>-<rand>/files.json       file name -> [chunk, offset, size]
STORE/v<seq>-<rand>/status.json      sequence, counts, applied_at
STORE/downloads/                     chunks of an unfinished pull (Range resume)
```

A version folder is built under a `.staging-` name and checked whole (every chunk's hash,
every product and article, every image decoded, every PDF's header and size) before `current`
points at it; a refused bundle is deleted and the previous catalogue stays in use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tqdm import tqdm

from sync.bundle import open_envelope
from sync.bundle_host import BundleHost, pull_lock, verified_file
from sync.cache_files import fsync_path
from sync.catalogue_assets import check_asset
from sync.catalogue_bundle import CatalogueManifest, decode_files, decode_items
from sync.catalogue_model import (
    Article,
    Catalogue,
    Product,
    article_from_dict,
    check_catalogue,
    product_from_dict,
)
from sync.errors import BundleError, CatalogueError, ChunkError, RollbackError

__all__ = [
    "AppliedCatalogue",
    "CataloguePullResult",
    "CatalogueStatus",
    "catalogue_status",
    "load_catalogue",
    "pull_catalogue",
]


@dataclass(frozen=True)
class CatalogueStatus:
    """The applied catalogue's version and counts."""

    sequence: int
    created: str
    products: int
    articles: int
    files: int
    applied_at: float
    folder: Path


@dataclass
class CataloguePullResult:
    """What a catalogue pull did."""

    status: CatalogueStatus | None
    applied: bool = False
    fetched_chunks: int = 0
    reused_chunks: int = 0
    downloaded_bytes: int = 0
    download_s: float = 0.0
    apply_s: float = 0.0


def catalogue_status(store: Path) -> CatalogueStatus | None:
    """The applied catalogue, or None before the first pull."""
    folder = store / "current"
    try:
        meta = orjson.loads((folder / "status.json").read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        raise CatalogueError(f"the applied catalogue in {store} is unreadable ({exc})") from exc
    return CatalogueStatus(**meta, folder=folder.resolve())


class _Files(Mapping[str, bytes]):
    """The catalogue's files, read from their chunks on demand."""

    def __init__(self, folder: Path, index: dict[str, list[Any]]) -> None:
        self.folder, self.index = folder, index

    def __getitem__(self, name: str) -> bytes:
        sha, offset, size = self.index[name]
        with (self.folder / "chunks" / sha).open("rb") as fh:
            fh.seek(offset)
            data: bytes = fh.read(size)
            return data

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)


@dataclass(frozen=True)
class AppliedCatalogue:
    """The catalogue a branch device shows: its version and its content."""

    status: CatalogueStatus
    catalogue: Catalogue


def load_catalogue(store: Path) -> AppliedCatalogue | None:
    """Read the applied catalogue (products, articles, files on demand), or None before any pull."""
    status = catalogue_status(store)
    if status is None:
        return None
    folder = status.folder
    manifest = CatalogueManifest(_body(folder / "manifest.json"))
    products, articles = _items(folder, manifest)
    index = orjson.loads((folder / "files.json").read_bytes())
    return AppliedCatalogue(
        status, Catalogue(tuple(products), tuple(articles), _Files(folder, index))
    )


def _body(path: Path) -> dict[str, Any]:
    """The body of a manifest already verified when it was applied."""
    body: dict[str, Any] = orjson.loads(orjson.loads(path.read_bytes())["body"])
    return body


def _items(folder: Path, manifest: CatalogueManifest) -> tuple[list[Product], list[Article]]:
    products: list[Product] = []
    articles: list[Article] = []
    for c in manifest.chunks:
        if c["kind"] == "files":
            continue
        data = (folder / "chunks" / c["sha256"]).read_bytes()
        if c["kind"] == "products":
            products.extend(product_from_dict(o) for o in decode_items(data, "products"))
        else:
            articles.extend(article_from_dict(o) for o in decode_items(data, "articles"))
    return products, articles


def _remove_stale(store: Path) -> None:
    """Remove what a killed pull left and versions older than the current and the one before."""
    live = (store / "current").resolve() if (store / "current").exists() else None
    versions = sorted(
        (p for p in store.glob("v*-*") if p.is_dir()), key=lambda p: p.stat().st_mtime
    )
    keep = {live} | ({versions[-2]} if len(versions) > 1 and versions[-1] == live else set())
    for path in [*store.glob(".staging-*"), *versions]:
        if path not in keep:
            shutil.rmtree(path, ignore_errors=True)
    (store / ".current.tmp").unlink(missing_ok=True)


def _pointer(source: BundleHost, hq_public: Ed25519PublicKey) -> tuple[int, dict[str, Any], bytes]:
    raw = source.get("latest.json", 1 << 20)
    pointer = open_envelope(raw, hq_public, "latest.json")
    if pointer.get("bundle") != "catalogue":
        raise BundleError("latest.json is not a catalogue pointer (is this a customer bundle URL?)")
    try:
        return int(pointer["sequence"]), pointer, raw
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"latest.json is missing or mistypes a field: {exc}") from exc


def _manifest(
    source: BundleHost, hq_public: Ed25519PublicKey, pointer: dict[str, Any], head: int
) -> tuple[bytes, CatalogueManifest]:
    raw = source.get(str(pointer.get("manifest")))
    if hashlib.sha256(raw).hexdigest() != pointer.get("sha256"):
        raise BundleError("the catalogue manifest does not match the hash in latest.json")
    manifest = CatalogueManifest(open_envelope(raw, hq_public, f"catalogue manifest {head}"))
    if manifest.sequence != head:
        raise BundleError(f"the catalogue manifest is sequence {manifest.sequence}, not {head}")
    return raw, manifest


def pull_catalogue(
    url: str,
    store: Path,
    *,
    hq_public: Ed25519PublicKey,
    ca_file: Path | None = None,
    progress: bool | None = None,
    retries: int = 5,
    backoff_s: float = 0.5,
    timeout_s: float = 30.0,
) -> CataloguePullResult:
    """Bring the branch's catalogue in `store` up to HQ's latest at `url`, whole or not at all."""
    store.mkdir(parents=True, exist_ok=True)
    downloads = store / "downloads"
    downloads.mkdir(exist_ok=True)
    source = BundleHost(url, ca_file, timeout_s, retries, backoff_s)
    with contextlib.closing(source), pull_lock(store):
        _remove_stale(store)
        local = catalogue_status(store)
        result = CataloguePullResult(status=local)
        head, pointer, signed_pointer = _pointer(source, hq_public)
        if local is not None and head < local.sequence:
            raise RollbackError(
                f"HQ's latest catalogue {head} is older than the applied {local.sequence} "
                "(refusing to go back)"
            )
        if local is not None and head == local.sequence:
            _keep_pointer(local.folder, signed_pointer, pointer)
            return result
        raw, manifest = _manifest(source, hq_public, pointer, head)
        started = time.perf_counter()
        sources = _fetch(source, manifest, store, downloads, progress, result)
        result.download_s = time.perf_counter() - started
        started = time.perf_counter()
        result.status = _apply(store, (raw, signed_pointer), manifest, sources)
        result.apply_s, result.applied = time.perf_counter() - started, True
        for path in downloads.iterdir():
            path.unlink(missing_ok=True)
        _remove_stale(store)
        return result


def _fetch(
    source: BundleHost,
    manifest: CatalogueManifest,
    store: Path,
    downloads: Path,
    progress: bool | None,
    result: CataloguePullResult,
) -> dict[str, Path]:
    """Where each chunk is: reused from the applied version, or downloaded and verified."""
    have = store / "current" / "chunks"
    sources: dict[str, Path] = {}
    todo = []
    for c in manifest.chunks:
        sha, size = c["sha256"], c["size"]
        if verified_file(have / sha, sha, size):
            sources[sha] = have / sha
            result.reused_chunks += 1
        elif verified_file(downloads / sha, sha, size):
            sources[sha] = downloads / sha
        else:
            todo.append(c)
    bar = tqdm(
        total=sum(c["size"] for c in todo),
        unit="B",
        unit_scale=True,
        desc=f"pull catalogue {manifest.sequence}",
        disable=None if progress is None else not progress,
    )
    with bar:
        for c in todo:
            sha, size = c["sha256"], c["size"]
            part = downloads / f"{sha}.part"
            result.downloaded_bytes += source.download(f"chunks/{sha}", part, size, bar)
            if not verified_file(part, sha, size):
                part.unlink(missing_ok=True)
                raise ChunkError(
                    f"catalogue chunk {sha[:12]}… does not match its size and SHA-256 "
                    "(tampered, truncated or missing)"
                )
            os.replace(part, downloads / sha)
            sources[sha] = downloads / sha
            result.fetched_chunks += 1
    return sources


def _apply(
    store: Path,
    signed: tuple[bytes, bytes],
    manifest: CatalogueManifest,
    sources: dict[str, Path],
) -> CatalogueStatus:
    """Build the new version aside, check it whole, then point `current` at it."""
    name = f"v{manifest.sequence}-{secrets.token_hex(4)}"
    staging = store / f".staging-{name}"
    (staging / "chunks").mkdir(parents=True)
    try:
        for sha, path in sources.items():
            _place(path, staging / "chunks" / sha)
        counts = _check(staging, manifest)
        meta = {
            "sequence": manifest.sequence,
            "created": manifest.created,
            **counts,
            "applied_at": time.time(),
        }
        raw, signed_pointer = signed
        files = (("manifest.json", raw), ("latest.json", signed_pointer))
        for file, data in (*files, ("status.json", orjson.dumps(meta))):
            (staging / file).write_bytes(data)
        for path in [*staging.rglob("*"), staging / "chunks", staging]:
            if path.is_file() or path.is_dir():
                fsync_path(path)
        os.rename(staging, store / name)
        tmp = store / ".current.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        os.replace(tmp, store / "current")
        fsync_path(store)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    status = catalogue_status(store)
    assert status is not None  # noqa: S101 - just written
    return status


def _keep_pointer(folder: Path, signed_pointer: bytes, pointer: dict[str, Any]) -> None:
    """Keep HQ's pointer beside a version applied before the hub mirrored it (same manifest)."""
    target = folder / "latest.json"
    if target.exists():
        return
    manifest = (folder / "manifest.json").read_bytes()
    if hashlib.sha256(manifest).hexdigest() == pointer.get("sha256"):
        tmp = folder / ".latest.json.tmp"
        tmp.write_bytes(signed_pointer)
        os.replace(tmp, target)


def _place(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _check(staging: Path, manifest: CatalogueManifest) -> dict[str, int]:
    """Check every item and file of the staged version; write its file index; return counts."""
    products, articles = _items(staging, manifest)
    index: dict[str, list[Any]] = {}
    for c in manifest.chunks:
        if c["kind"] != "files":
            continue
        data = (staging / "chunks" / c["sha256"]).read_bytes()
        for name, offset, blob in decode_files(data):
            if name in index:
                raise CatalogueError(f"file {name!r} appears twice in the catalogue")
            check_asset(name, blob)
            index[name] = [c["sha256"], offset, len(blob)]
    check_catalogue(products, articles, set(index))
    counts = {"products": len(products), "articles": len(articles), "files": len(index)}
    if counts != manifest.counts:
        raise CatalogueError(f"the catalogue holds {counts}, its manifest says {manifest.counts}")
    (staging / "files.json").write_bytes(orjson.dumps(index))
    return counts
