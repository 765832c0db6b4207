"""Branch puller: fetch HQ's pointer and manifests, verify, download chunks resumably, apply.

Plan (docs/sync.md, "Pull"): if the pointer lists deltas chaining from the cache's sequence
under the same key id, apply them in order; otherwise apply the current snapshot and the
deltas after it. Never go backwards. Each chunk is downloaded with HTTP Range resume and
bounded exponential-backoff retries, and checked against its SHA-256 before anything is applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from tqdm import tqdm

from sync.bundle import Manifest, open_envelope
from sync.bundle_host import BundleHost, pull_lock, verified_file
from sync.cache import CacheStatus, apply_delta, apply_snapshot, cache_status, remove_stale
from sync.errors import (
    BundleError,
    ChunkError,
    RollbackError,
    SequenceGapError,
    WrongBranchError,
)

__all__ = ["PullResult", "pull"]

log = logging.getLogger("sync.puller")


@dataclass
class PullResult:
    """What a pull did."""

    status: CacheStatus | None
    applied: list[str] = field(default_factory=list)
    downloaded_bytes: int = 0
    download_s: float = 0.0
    apply_s: float = 0.0

    @property
    def up_to_date(self) -> bool:
        """True if nothing needed applying."""
        return not self.applied


def _plan(pointer: dict[str, Any], local: CacheStatus | None) -> list[dict[str, Any]]:
    snap = pointer["snapshot"]
    deltas = sorted(pointer["deltas"], key=lambda d: int(d["sequence"]))

    def chain(start: int) -> list[dict[str, Any]] | None:
        steps, at = [], start
        for d in deltas:
            if int(d["sequence"]) <= start:
                continue
            if int(d["base_sequence"]) != at:
                return None
            steps.append({**d, "kind": "delta"})
            at = int(d["sequence"])
        return steps if at == int(pointer["sequence"]) else None

    if (
        local is not None
        and local.key_id == pointer["key_id"]
        and local.sequence >= int(snap["sequence"])
    ):
        steps = chain(local.sequence)
        if steps is not None:
            return steps
        log.info("no delta chain from sequence %d; fetching the snapshot", local.sequence)
    if local is not None and int(snap["sequence"]) <= local.sequence:
        raise SequenceGapError(
            f"cannot reach sequence {pointer['sequence']} from the cache's {local.sequence}: "
            f"the deltas have a gap and the snapshot ({snap['sequence']}) is not newer"
        )
    steps = chain(int(snap["sequence"]))
    if steps is None:
        raise SequenceGapError(f"the deltas after snapshot {snap['sequence']} have a gap")
    return [{**snap, "kind": "snapshot"}, *steps]


def pull(
    url: str,
    cache_dir: Path,
    *,
    hq_public: Ed25519PublicKey,
    hub_key: X25519PrivateKey,
    branch_id: str,
    ca_file: Path | None = None,
    downloads: Path | None = None,
    progress: bool | None = None,
    retries: int = 5,
    backoff_s: float = 0.5,
    timeout_s: float = 30.0,
) -> PullResult:
    """Bring the cache in `cache_dir` up to HQ's latest bundle at `url` (one scheduled pull)."""
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    downloads = downloads or cache_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = BundleHost(url, ca_file, timeout_s, retries, backoff_s)
    with contextlib.closing(source), pull_lock(cache_dir):
        remove_stale(cache_dir)  # what a killed pull left behind
        local = cache_status(cache_dir)
        pointer = open_envelope(source.get("latest.json", 1 << 20), hq_public, "latest.json")
        if pointer.get("branch_id") != branch_id:
            raise WrongBranchError(
                f"the bundles at {url} are for branch {pointer.get('branch_id')!r}, this hub is branch {branch_id!r}"
            )
        result = PullResult(status=local)
        head = int(pointer["sequence"])
        if local is not None and head < local.sequence:
            raise RollbackError(
                f"HQ's latest sequence {head} is older than the cache's {local.sequence} (refusing to go back)"
            )
        if local is not None and head == local.sequence:
            log.info("cache is up to date at sequence %d", head)
            return result
        step = _Step(source, cache_dir, downloads, hq_public, hub_key, branch_id, progress)
        for planned in _plan(pointer, local):
            step.apply(planned, result)
        return result


@dataclass
class _Step:
    """Fetch, verify and apply one planned bundle (snapshot or delta)."""

    source: BundleHost
    cache_dir: Path
    downloads: Path
    hq_public: Ed25519PublicKey
    hub_key: X25519PrivateKey
    branch_id: str
    progress: bool | None

    def manifest(self, step: dict[str, Any]) -> Manifest:
        """The step's manifest, checked against the pointer, the branch and the cache."""
        raw = self.source.get(step["manifest"])
        if hashlib.sha256(raw).hexdigest() != step["sha256"]:
            raise BundleError(f"manifest {step['manifest']} does not match the hash in latest.json")
        manifest = Manifest(open_envelope(raw, self.hq_public, f"manifest {step['sequence']}"))
        if manifest.sequence != int(step["sequence"]) or manifest.kind != step["kind"]:
            raise BundleError(
                f"manifest {step['manifest']} is not {step['kind']} {step['sequence']}"
            )
        if manifest.branch_id != self.branch_id:
            raise WrongBranchError(
                f"the bundle is for branch {manifest.branch_id!r}, this hub is branch {self.branch_id!r}"
            )
        local = cache_status(self.cache_dir)
        if local is not None and manifest.sequence <= local.sequence:
            raise RollbackError(
                f"bundle sequence {manifest.sequence} is not newer than the cache's {local.sequence} (refusing to go back)"
            )
        return manifest

    def apply(self, step: dict[str, Any], result: PullResult) -> None:
        """Download the step's chunks and apply them to the cache."""
        manifest = self.manifest(step)
        started = time.perf_counter()
        paths = _fetch_chunks(self.source, manifest, self.downloads, self.progress, result)
        result.download_s += time.perf_counter() - started
        started = time.perf_counter()
        with _apply_bar(manifest, self.progress) as bar:
            counted = _counting(paths, manifest, bar)
            if manifest.kind == "snapshot":
                status = apply_snapshot(
                    self.cache_dir, manifest, (p for _, p in counted), self.hub_key, self.branch_id
                )
            else:
                status = apply_delta(
                    self.cache_dir, manifest, counted, self.hub_key, self.branch_id
                )
        result.apply_s += time.perf_counter() - started
        result.status = status
        result.applied.append(f"{manifest.kind} {manifest.sequence}")
        log.info("applied %s %d (%d chunks)", manifest.kind, manifest.sequence, len(paths))
        for _, path in paths:
            path.unlink(missing_ok=True)


def _apply_bar(manifest: Manifest, progress: bool | None) -> tqdm[Any]:
    """A bar of records applied (a 10M-customer snapshot takes minutes; silent off a terminal)."""
    return tqdm(
        total=sum(int(c["records"]) for c in manifest.chunks),
        unit=" records",
        unit_scale=True,
        desc=f"apply {manifest.kind} {manifest.sequence}",
        disable=None if progress is None else not progress,
    )


def _counting(
    paths: list[tuple[str, Path]], manifest: Manifest, bar: tqdm[Any]
) -> Iterator[tuple[str, Path]]:
    """Yield the chunks in order, moving the bar past each one once it has been applied."""
    for (kind, path), chunk in zip(paths, manifest.chunks, strict=True):
        yield kind, path
        bar.update(int(chunk["records"]))


def _fetch_chunks(
    source: BundleHost,
    manifest: Manifest,
    downloads: Path,
    progress: bool | None,
    result: PullResult,
) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    todo = []
    for c in manifest.chunks:
        path = downloads / c["sha256"]
        out.append((c["kind"], path))
        if not verified_file(path, c["sha256"], c["size"]):
            path.unlink(missing_ok=True)
            todo.append(c)
    total = sum(c["size"] for c in todo)
    with tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc=f"pull {manifest.kind} {manifest.sequence}",
        disable=None if progress is None else not progress,
    ) as bar:
        for c in todo:
            sha, size = c["sha256"], c["size"]
            part = downloads / f"{sha}.part"
            result.downloaded_bytes += source.download(f"chunks/{sha}", part, size, bar)
            if not verified_file(part, sha, size):
                got = part.stat().st_size if part.exists() else 0
                part.unlink(missing_ok=True)
                if got != size:
                    raise ChunkError(
                        f"chunk {sha[:12]}…: {got} bytes instead of {size} (truncated download)"
                    )
                raise ChunkError(
                    f"chunk {sha[:12]}… does not match its SHA-256 (tampered or corrupted)"
                )
            os.replace(part, downloads / sha)
    return out
