"""Seal blocks of export lines into upsert chunk files, in worker processes with bounded look-ahead.

Each worker holds the generation's keys (set once by `_init_worker`) and writes the chunk file
itself, handing back only its hash and counts, so the parent stays light whatever the export.
Nonces are synthetic (an HMAC of the record and its associated data), so the same export gives
the same chunks whichever process seals them (safety argument in docs/sync.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tqdm import tqdm

from sync.bundle import BlindIndexer, record_aad, upsert_chunk_header, upsert_record
from sync.errors import ExportError
from sync.export_reader import UNSORTED, Block, parse_line
from sync.keys import GenerationKeys, record_nonce_key

__all__ = ["MAX_REPORTED", "SealedChunks", "atomic_write", "seal_blocks", "write_chunk"]

MAX_REPORTED = 1_000

# Worker state, set once per process by _init_worker.
_W: dict[str, Any] = {}


def _init_worker(keys: GenerationKeys, version: int, chunk_dir: str, skip: bool) -> None:
    _W.update(
        index=BlindIndexer(keys.index_key),
        aes=AESGCM(keys.data_key),
        nonce=hmac.new(record_nonce_key(keys), digestmod=hashlib.sha256),
        version=version,
        chunk_dir=chunk_dir,
        skip=skip,
    )


def _seal_block(block: Block) -> dict[str, Any]:
    """Seal one block of export lines into an upsert chunk file (runs in a worker)."""
    index: BlindIndexer = _W["index"]
    aes: AESGCM = _W["aes"]
    version: int = _W["version"]
    lines = block.lines.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    records: list[bytes] = []
    skipped: list[tuple[int, str]] = []
    first = last = ""
    first_line = 0
    for i, line in enumerate(lines):
        lineno = block.lineno(i)
        try:
            customer, cid, ids = parse_line(line)
            if last and cid <= last:
                raise ValueError(UNSORTED)  # noqa: TRY301 (one reporting path for every bad line)
        except ValueError as exc:
            if not _W["skip"]:
                return {"error": (lineno, str(exc))}
            skipped.append((lineno, str(exc)))
            continue
        if not first:
            first, first_line = cid, lineno
        last = cid
        ref = index.ref(cid)
        hs = sorted({index(kind, value) for kind, value in ids})
        aad = record_aad(ref, version, b"".join(hs))
        plain = orjson.dumps(customer)
        nonce = _synthetic_nonce(aad, plain)
        sealed = nonce + aes.encrypt(nonce, plain, aad)
        records.append(upsert_record(ref, hs, sealed))
    if not records:
        return {"records": 0, "skipped": skipped, "first": "", "last": ""}
    data = upsert_chunk_header(len(records)) + b"".join(records)
    sha, new = write_chunk(Path(_W["chunk_dir"]), data)
    return {
        "sha256": sha,
        "size": len(data),
        "records": len(records),
        "new": new,
        "skipped": skipped,
        "first": first,
        "first_line": first_line,
        "last": last,
    }


def _synthetic_nonce(aad: bytes, plain: bytes) -> bytes:
    """HMAC(nonce key, len(aad) ‖ aad ‖ plaintext)[:12]: equal only for equal inputs (docs/sync.md)."""
    mac = _W["nonce"].copy()
    mac.update(len(aad).to_bytes(4, "big") + aad)
    mac.update(plain)
    return bytes(mac.digest()[:12])


def write_chunk(chunk_dir: Path, data: bytes) -> tuple[str, bool]:
    """Store a chunk under its SHA-256; return the hash and whether the file is new."""
    sha = hashlib.sha256(data).hexdigest()
    path = chunk_dir / sha
    if path.exists():
        return sha, False
    atomic_write(path, data)
    return sha, True


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file whole or not at all (temporary file, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class SealedChunks:
    """What sealing the blocks produced: manifest entries, counts, new files, skipped lines."""

    out: Path
    bar: tqdm[Any]
    chunks: list[dict[str, Any]] = field(default_factory=list)
    new_files: list[Path] = field(default_factory=list)
    records: int = 0
    skipped: int = 0
    skipped_lines: list[tuple[int, str]] = field(default_factory=list)
    last_cid: str = ""

    def collect(self, done: dict[str, Any], size: int) -> None:
        """Take one worker's result in export order."""
        if "error" in done:
            raise ExportError(*done["error"])
        self.skipped += len(done["skipped"])
        room = MAX_REPORTED - len(self.skipped_lines)
        self.skipped_lines.extend(done["skipped"][: max(room, 0)])
        self.bar.update(size)
        if not done["records"]:
            return
        if self.last_cid and done["first"] <= self.last_cid:
            raise ExportError(
                -1,
                "customer_ids are not in ascending order across blocks (the export must be sorted by customer_id)",
            )
        self.last_cid = done["last"]
        self.remember(done)
        self.records += done["records"]
        self.chunks.append({k: done[k] for k in ("sha256", "size", "records")} | {"kind": "upsert"})

    def remember(self, done: dict[str, Any]) -> None:
        """Note a chunk file this run created (removed again if the publish fails)."""
        if done.get("new"):
            self.new_files.append(self.out / "chunks" / done["sha256"])


def seal_blocks(
    blocks: Iterator[Block],
    keys: GenerationKeys,
    sequence: int,
    skip: bool,
    workers: int,
    sealed: SealedChunks,
) -> None:
    """Seal every block into a chunk file under OUT/chunks, in order, into `sealed`."""
    init = (keys, sequence, str(sealed.out / "chunks"), skip)
    if workers <= 1:
        _init_worker(*init)
        for block in blocks:
            sealed.collect(_seal_block(block), len(block.lines))
        return
    pending: deque[tuple[Future[dict[str, Any]], int]] = deque()
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=init) as pool:
        try:
            for block in blocks:
                pending.append((pool.submit(_seal_block, block), len(block.lines)))
                if len(pending) > workers:  # bounded look-ahead keeps memory flat
                    fut, size = pending.popleft()
                    sealed.collect(fut.result(), size)
            while pending:
                fut, size = pending.popleft()
                sealed.collect(fut.result(), size)
        except BaseException:
            for fut, _ in pending:
                fut.cancel()
            # Chunks finished by still-running workers are written after we return; wait, then
            # the caller removes every new chunk of this run.
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, _ in pending:
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    sealed.remember(fut.result())
            raise
