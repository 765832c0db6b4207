"""HQ publisher: turn HQ's customer export into a signed snapshot or delta bundle of static files.

Output layout under OUT (docs/sync.md): `chunks/<sha256>` (immutable), `manifests/<sha256>.json`
(immutable, signed) and `latest.json` (the one small mutable, signed pointer). Records are
sealed in worker processes, one chunk per block of export lines, with bounded look-ahead so
memory stays flat whatever the export size (`sync.sealing`); the export is read and, for a
delta, merge-joined with the previous one by `sync.export_reader`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from tqdm import tqdm

from sync.bundle import FORMAT, customer_ref, delete_chunk, open_envelope, seal_envelope, utc_now
from sync.errors import BundleError, PublishError
from sync.export_reader import Block, ExportMerge, HashingReader, snapshot_blocks
from sync.keys import GenerationKeys, derive_generation_keys, fingerprint, wrap_keys
from sync.sealing import MAX_REPORTED, SealedChunks, atomic_write, seal_blocks, write_chunk

__all__ = ["PublishResult", "publish", "read_pointer"]

RECORDS_PER_CHUNK = 10_000  # ~9 MB chunks: resumable units that CDNs cache happily
CHUNK_BYTES = 8 << 20  # export bytes read per block
DELETES_PER_CHUNK = 200_000


@dataclass
class PublishResult:
    """What a publish wrote."""

    kind: str
    sequence: int
    base_sequence: int | None
    key_id: str
    records: int = 0
    deletes: int = 0
    chunks: int = 0
    bytes: int = 0
    skipped: int = 0
    skipped_lines: list[tuple[int, str]] = field(default_factory=list)
    manifest: str = ""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_pointer(out: Path, signing_key: Ed25519PrivateKey) -> dict[str, Any] | None:
    """Return the verified body of OUT/latest.json, or None before the first publish."""
    path = out / "latest.json"
    if not path.exists():
        return None
    try:
        return open_envelope(path.read_bytes(), signing_key.public_key(), "latest.json")
    except BundleError as exc:
        raise PublishError(f"{path}: {exc}") from exc


def _kind(
    pointer: dict[str, Any] | None, previous: Path | None, key_id: str | None, recipient: str
) -> tuple[str, int | None, str]:
    """Snapshot or delta, its base sequence and its key id; refuse a delta that cannot be."""
    if previous is None:
        return "snapshot", None, _snapshot_key_id(pointer, key_id, recipient)
    if pointer is None:
        raise PublishError("a delta needs a published snapshot in OUT first")
    if key_id is not None and key_id != pointer["key_id"]:
        raise PublishError("a new key id needs a snapshot, not a delta")
    if pointer["recipient"] != recipient:
        raise PublishError("the hub's sync key changed since the last bundle: publish a snapshot")
    return "delta", int(pointer["sequence"]), str(pointer["key_id"])


def _snapshot_key_id(pointer: dict[str, Any] | None, key_id: str | None, recipient: str) -> str:
    """A snapshot's key id: for another hub key always a new one, so the hub whose key was
    replaced (revoked, stolen) cannot derive the keys of anything published after it."""
    if pointer is None:
        return key_id or "k1"
    current = str(pointer["key_id"])
    if pointer["recipient"] == recipient:
        return key_id or current
    if key_id == current:
        raise PublishError(
            f"the hub's sync key changed: key id {current!r} is the old hub's; give a new one"
        )
    return key_id or _next_key_id(current)


def _next_key_id(current: str) -> str:
    """The key id after `current`: k1 -> k2, other names get a counter (rk -> rk.2 -> rk.3)."""
    if current[:1] == "k" and current[1:].isdigit():
        return f"k{int(current[1:]) + 1}"
    stem, dot, count = current.rpartition(".")
    if dot and count.isdigit():
        return f"{stem}.{int(count) + 1}"
    return f"{current}.2"


@dataclass
class _Run:
    """One publish in progress: its keys, how it seals, what it wrote so far."""

    out: Path
    branch_id: str
    keys: GenerationKeys
    result: PublishResult
    sealed: SealedChunks
    skip: bool
    workers: int
    per_chunk: int
    created: str = ""

    def seal(self, blocks: Iterator[Block]) -> None:
        """Seal the blocks into chunk files."""
        seal_blocks(blocks, self.keys, self.result.sequence, self.skip, self.workers, self.sealed)

    def seal_snapshot(self, export: Path) -> str:
        """Seal the whole export; return its SHA-256."""
        with export.open("rb") as fh:
            sha = hashlib.sha256()
            self.seal(snapshot_blocks(fh, sha, CHUNK_BYTES, self.per_chunk))
        return sha.hexdigest()

    def seal_delta(self, export: Path, previous: Path, pointer: dict[str, Any]) -> str:
        """Seal what changed since `previous` and the deletions; return the export's SHA-256."""
        with export.open("rb") as cur_fh, previous.open("rb") as prev_fh:
            cur, prev = HashingReader(cur_fh), HashingReader(prev_fh)
            merge = ExportMerge(iter(prev), iter(cur), self.per_chunk, self.skip)
            self.seal(merge.blocks())
        self.sealed.skipped += len(merge.skipped)
        self.sealed.skipped_lines.extend(merge.skipped[:MAX_REPORTED])
        if pointer.get("export_sha256") != prev.sha.hexdigest():
            raise PublishError(
                f"--previous {previous} is not the export published as sequence "
                f"{pointer['sequence']} (its SHA-256 differs)"
            )
        refs = sorted(customer_ref(self.keys.index_key, cid) for cid in merge.deleted)
        for i in range(0, len(refs), DELETES_PER_CHUNK):
            part = refs[i : i + DELETES_PER_CHUNK]
            data = delete_chunk(part)
            sha, new = write_chunk(self.out / "chunks", data)
            self.sealed.remember({"new": new, "sha256": sha})
            self.sealed.chunks.append(
                {"sha256": sha, "size": len(data), "records": len(part), "kind": "delete"}
            )
        self.result.deletes = len(refs)
        return cur.sha.hexdigest()

    def write_manifest(self, hub_public: X25519PublicKey, signing_key: Ed25519PrivateKey) -> str:
        """Write the signed manifest; return its SHA-256."""
        result = self.result
        body = {
            "format": FORMAT,
            "kind": result.kind,
            "branch_id": self.branch_id,
            "sequence": result.sequence,
            "base_sequence": result.base_sequence,
            "created": self.created,
            "key_id": result.key_id,
            "wrapped_keys": wrap_keys(self.keys, hub_public, self.branch_id),
            "records": result.records,
            "deletes": result.deletes,
            "chunks": self.sealed.chunks,
        }
        manifest = seal_envelope(body, signing_key)
        msha = hashlib.sha256(manifest).hexdigest()
        mpath = self.out / "manifests" / f"{msha}.json"
        atomic_write(mpath, manifest)
        self.sealed.new_files.append(mpath)
        return msha

    def write_pointer(
        self,
        pointer: dict[str, Any] | None,
        msha: str,
        recipient: str,
        export_sha: str,
        signing_key: Ed25519PrivateKey,
    ) -> None:
        """Replace latest.json (last, after every chunk and the manifest are on disk)."""
        result = self.result
        entry = {"sequence": result.sequence, "manifest": f"manifests/{msha}.json", "sha256": msha}
        deltas = [] if result.kind == "snapshot" or pointer is None else list(pointer["deltas"])
        if result.kind == "delta":
            deltas.append({**entry, "base_sequence": result.base_sequence})
        new_pointer = {
            "format": FORMAT,
            "branch_id": self.branch_id,
            "recipient": recipient,
            "sequence": result.sequence,
            "key_id": result.key_id,
            "created": self.created,
            "export_sha256": export_sha,
            "snapshot": entry if result.kind == "snapshot" else pointer["snapshot"],  # type: ignore[index]
            "deltas": deltas,
        }
        _fsync_dir(self.out / "chunks")
        _fsync_dir(self.out / "manifests")
        atomic_write(self.out / "latest.json", seal_envelope(new_pointer, signing_key))
        _fsync_dir(self.out)


def publish(
    export: Path,
    hub_public: X25519PublicKey,
    signing_key: Ed25519PrivateKey,
    out: Path,
    branch_id: str,
    *,
    previous: Path | None = None,
    key_id: str | None = None,
    on_error: str = "fail",
    workers: int | None = None,
    progress: bool | None = None,
    records_per_chunk: int = RECORDS_PER_CHUNK,
    created: str | None = None,
) -> PublishResult:
    """Publish a snapshot (or, with `previous`, a delta) for one hub; same inputs, same bytes."""
    if on_error not in {"fail", "skip"}:
        raise PublishError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    for folder in (out, out / "chunks", out / "manifests"):
        folder.mkdir(parents=True, exist_ok=True)
    pointer = read_pointer(out, signing_key)
    if pointer is not None and pointer["branch_id"] != branch_id:
        raise PublishError(f"{out} publishes branch {pointer['branch_id']!r}, not {branch_id!r}")
    recipient = fingerprint(hub_public)
    kind, base, key_id = _kind(pointer, previous, key_id, recipient)
    sequence = 1 if pointer is None else int(pointer["sequence"]) + 1
    keys = derive_generation_keys(signing_key, branch_id, key_id)
    result = PublishResult(kind, sequence, base, key_id)
    bar = tqdm(
        total=export.stat().st_size if kind == "snapshot" else None,
        unit="B",
        unit_scale=True,
        desc=f"publish {kind}",
        disable=None if progress is None else not progress,
    )
    workers = workers or min(2, os.cpu_count() or 1)
    sealed = SealedChunks(out, bar)
    run = _Run(out, branch_id, keys, result, sealed, on_error == "skip", workers, records_per_chunk)
    run.created = created or utc_now()
    try:
        with bar:
            if previous is None or pointer is None:
                export_sha = run.seal_snapshot(export)
            else:
                export_sha = run.seal_delta(export, previous, pointer)
        result.records = run.sealed.records
        msha = run.write_manifest(hub_public, signing_key)
        run.write_pointer(pointer, msha, recipient, export_sha, signing_key)
    except BaseException:
        for path in run.sealed.new_files:
            path.unlink(missing_ok=True)
        raise
    result.skipped, result.skipped_lines = run.sealed.skipped, run.sealed.skipped_lines
    result.chunks = len(run.sealed.chunks)
    result.bytes = sum(c["size"] for c in run.sealed.chunks)
    result.manifest = f"manifests/{msha}.json"
    return result
