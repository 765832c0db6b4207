"""HQ publisher: turn HQ's customer export into a signed snapshot or delta bundle of static files.

Output layout under OUT (docs/sync.md): `chunks/<sha256>` (immutable), `manifests/<sha256>.json`
(immutable, signed) and `latest.json` (the one small mutable, signed pointer). Records are
sealed in worker processes, one chunk per block of export lines, with bounded look-ahead so
memory stays flat whatever the export size.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tqdm import tqdm

from branch_common.identifiers import IdentifierError
from sync.bundle import (
    FORMAT,
    BlindIndexer,
    customer_ref,
    delete_chunk,
    identifiers_of,
    open_envelope,
    record_aad,
    seal_envelope,
    upsert_chunk_header,
    upsert_record,
    utc_now,
)
from sync.errors import BundleError, ExportError, PublishError
from sync.keys import GenerationKeys, derive_generation_keys, fingerprint, wrap_keys

__all__ = ["PublishResult", "publish", "read_pointer"]

RECORDS_PER_CHUNK = 10_000  # ~9 MB chunks: resumable units that CDNs cache happily
CHUNK_BYTES = 8 << 20  # export bytes read per block
MAX_REPORTED = 1_000
_UNSORTED = (
    "customer_id is not greater than the previous line's "
    "(the export must be sorted by customer_id, without duplicates)"
)


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


@dataclass(frozen=True)
class _Block:
    """Export lines for one chunk: numbered from `first`, or by `linenos` (delta upserts)."""

    lines: bytes
    first: int
    linenos: list[int] | None = None

    def lineno(self, i: int) -> int:
        """The export line number of the block's i-th line."""
        return self.linenos[i] if self.linenos is not None else self.first + i


# Worker state, set once per process by _init_worker.
_W: dict[str, Any] = {}


def _init_worker(keys: GenerationKeys, version: int, chunk_dir: str, skip: bool) -> None:
    _W.update(
        index=BlindIndexer(keys.index_key),
        aes=AESGCM(keys.data_key),
        version=version,
        chunk_dir=chunk_dir,
        skip=skip,
    )


def _parse(line: bytes) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
    """Parse and check one export line; raise ValueError with a reason free of personal data."""
    if not line.strip():
        raise ValueError("empty line")
    try:
        customer = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    if not isinstance(customer, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 (a reason, not a type check)
    cid = customer.get("customer_id")
    if not isinstance(cid, str) or not cid:
        raise ValueError("customer_id is missing or not a string")
    try:
        ids = identifiers_of(customer)
    except KeyError as exc:
        raise ValueError(f"field {exc} is missing") from None
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None
    except (TypeError, AttributeError):
        raise ValueError("cards/passbooks/id_number have the wrong type") from None
    return customer, cid, ids


def _seal_block(block: _Block) -> dict[str, Any]:
    """Seal one block of export lines into an upsert chunk file (runs in a worker)."""
    index: BlindIndexer = _W["index"]
    aes: AESGCM = _W["aes"]
    version: int = _W["version"]
    lines = block.lines.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    nonces = os.urandom(12 * len(lines))
    records: list[bytes] = []
    skipped: list[tuple[int, str]] = []
    first = last = ""
    first_line = 0
    for i, line in enumerate(lines):
        lineno = block.lineno(i)
        try:
            customer, cid, ids = _parse(line)
            if last and cid <= last:
                raise ValueError(_UNSORTED)  # noqa: TRY301 (one reporting path for every bad line)
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
        nonce = nonces[12 * i : 12 * i + 12]
        aad = record_aad(ref, version, b"".join(hs))
        sealed = nonce + aes.encrypt(nonce, orjson.dumps(customer), aad)
        records.append(upsert_record(ref, hs, sealed))
    if not records:
        return {"records": 0, "skipped": skipped, "first": "", "last": ""}
    data = upsert_chunk_header(len(records)) + b"".join(records)
    sha, new = _write_chunk(Path(_W["chunk_dir"]), data)
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


def _write_chunk(chunk_dir: Path, data: bytes) -> tuple[str, bool]:
    sha = hashlib.sha256(data).hexdigest()
    path = chunk_dir / sha
    if path.exists():
        return sha, False
    _atomic_write(path, data)
    return sha, True


def _atomic_write(path: Path, data: bytes) -> None:
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


class _Hashing:
    """Read an export line by line while hashing every byte."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for line in self.fh:
            self.sha.update(line)
            yield line


def _snapshot_blocks(fh: BinaryIO, sha: Any, block_bytes: int, max_lines: int) -> Iterator[_Block]:
    """Cut the export into blocks of whole lines (about block_bytes, at most max_lines each).

    Reading big buffers and cutting at newlines keeps the parent process light: it never
    makes one Python object per line; the workers parse.
    """
    first, pending, eof = 1, b"", False
    while pending or not eof:
        if not eof and (len(pending) < block_bytes or not pending.endswith(b"\n")):
            raw = fh.read(block_bytes)
            if raw and not raw.endswith(b"\n"):
                raw += fh.readline()  # finish the line the read cut in two
            sha.update(raw)
            eof = not raw
            pending += raw
            if eof and pending and not pending.endswith(b"\n"):
                pending += b"\n"  # the export's last line lacks its newline
            continue
        cut, at = len(pending), -1
        for _ in range(max_lines):
            at = pending.find(b"\n", at + 1)
            if at < 0:
                break
        else:
            cut = at + 1
        block, pending = pending[:cut], pending[cut:]
        yield _Block(block, first)
        first += block.count(b"\n")


def _cid_of(
    line: bytes, lineno: int, label: str, skip: bool, report: list[tuple[int, str]]
) -> str | None:
    try:
        return _parse(line)[1]
    except ValueError as exc:
        if not skip:
            raise ExportError(lineno, f"{label}{exc}") from None
        report.append((lineno, f"{label}{exc}"))
        return None


class _Reader:
    """One export being merged: yields (customer_id, line, line number) in ascending order."""

    def __init__(
        self, lines: Iterator[bytes], label: str, skip: bool, report: list[tuple[int, str]]
    ) -> None:
        self.lines, self.label, self.skip, self.report = lines, label, skip, report
        self.lineno = 0
        self.last = ""

    def next(self) -> tuple[str, bytes, int] | None:
        for line in self.lines:
            self.lineno += 1
            cid = _cid_of(line, self.lineno, self.label, self.skip, self.report)
            if cid is None:
                continue
            if self.last and cid <= self.last:
                reason = f"{self.label}{_UNSORTED}"
                if not self.skip:
                    raise ExportError(self.lineno, reason)
                self.report.append((self.lineno, reason))
                continue
            self.last = cid
            return cid, line if line.endswith(b"\n") else line + b"\n", self.lineno
        return None


class _Merge:
    """Merge-join two exports sorted by customer_id into upsert blocks and deleted ids."""

    def __init__(
        self, prev: Iterator[bytes], cur: Iterator[bytes], per_chunk: int, skip: bool
    ) -> None:
        self.skipped: list[tuple[int, str]] = []
        self.prev = _Reader(prev, "previous export: ", skip, self.skipped)
        self.cur = _Reader(cur, "", skip, self.skipped)
        self.per_chunk = per_chunk
        self.deleted: list[str] = []

    def blocks(self) -> Iterator[_Block]:
        p, c = self.prev.next(), self.cur.next()
        buf: list[bytes] = []
        nos: list[int] = []
        while p is not None or c is not None:
            if p is None or (c is not None and c[0] < p[0]):
                assert c is not None  # noqa: S101 (narrowing for mypy; p is None implies c is not)
                buf.append(c[1])
                nos.append(c[2])
                c = self.cur.next()
            elif c is None or p[0] < c[0]:
                self.deleted.append(p[0])
                p = self.prev.next()
            else:
                if p[1] != c[1] and orjson.loads(p[1]) != orjson.loads(c[1]):
                    buf.append(c[1])
                    nos.append(c[2])
                p, c = self.prev.next(), self.cur.next()
            if len(buf) == self.per_chunk:
                yield _Block(b"".join(buf), 0, nos)
                buf, nos = [], []
        if buf:
            yield _Block(b"".join(buf), 0, nos)


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
) -> PublishResult:
    """Publish a snapshot (or, with `previous`, a delta) of an export for one branch hub."""
    if on_error not in {"fail", "skip"}:
        raise PublishError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "chunks").mkdir(exist_ok=True)
    (out / "manifests").mkdir(exist_ok=True)
    pointer = read_pointer(out, signing_key)
    if pointer is not None and pointer["branch_id"] != branch_id:
        raise PublishError(f"{out} publishes branch {pointer['branch_id']!r}, not {branch_id!r}")
    recipient = fingerprint(hub_public)
    sequence = 1 if pointer is None else int(pointer["sequence"]) + 1
    if previous is not None:
        if pointer is None:
            raise PublishError("a delta needs a published snapshot in OUT first")
        if key_id is not None and key_id != pointer["key_id"]:
            raise PublishError("a new key id needs a snapshot, not a delta")
        if pointer["recipient"] != recipient:
            raise PublishError(
                "the hub's sync key changed since the last bundle: publish a snapshot"
            )
        key_id = str(pointer["key_id"])
        kind, base = "delta", int(pointer["sequence"])
    else:
        key_id = key_id or (str(pointer["key_id"]) if pointer else "k1")
        kind, base = "snapshot", None
    keys = derive_generation_keys(signing_key, branch_id, key_id)
    result = PublishResult(kind, sequence, base, key_id)
    skip = on_error == "skip"
    workers = workers or min(2, os.cpu_count() or 1)
    chunks: list[dict[str, Any]] = []
    new_files: list[Path] = []
    try:
        with (
            export.open("rb") as cur_fh,
            tqdm(
                total=export.stat().st_size if kind == "snapshot" else None,
                unit="B",
                unit_scale=True,
                desc=f"publish {kind}",
                disable=None if progress is None else not progress,
            ) as bar,
        ):
            cur = _Hashing(cur_fh)  # deltas hash as they merge; snapshots hash whole blocks
            merge: _Merge | None = None
            prev_fh: BinaryIO | None = None
            prev: _Hashing | None = None
            if previous is not None:
                prev_fh = previous.open("rb")
                prev = _Hashing(prev_fh)
                merge = _Merge(iter(prev), iter(cur), records_per_chunk, skip)
                blocks = merge.blocks()
            else:
                blocks = _snapshot_blocks(cur_fh, cur.sha, CHUNK_BYTES, records_per_chunk)
            try:
                _run_blocks(
                    blocks, keys, sequence, out, skip, workers, bar, result, chunks, new_files
                )
            finally:
                if prev_fh is not None:
                    prev_fh.close()
            if merge is not None:
                result.skipped += len(merge.skipped)
                result.skipped_lines.extend(merge.skipped[:MAX_REPORTED])
                if pointer and prev and pointer.get("export_sha256") != prev.sha.hexdigest():
                    raise PublishError(  # noqa: TRY301 (cleanup below covers every failure)
                        f"--previous {previous} is not the export published as sequence "
                        f"{pointer['sequence']} (its SHA-256 differs)"
                    )
                refs = sorted(customer_ref(keys.index_key, cid) for cid in merge.deleted)
                for i in range(0, len(refs), 200_000):
                    part = refs[i : i + 200_000]
                    data = delete_chunk(part)
                    sha, new = _write_chunk(out / "chunks", data)
                    if new:
                        new_files.append(out / "chunks" / sha)
                    chunks.append(
                        {"sha256": sha, "size": len(data), "records": len(part), "kind": "delete"}
                    )
                result.deletes = len(refs)
        body = {
            "format": FORMAT,
            "kind": kind,
            "branch_id": branch_id,
            "sequence": sequence,
            "base_sequence": base,
            "created": utc_now(),
            "key_id": key_id,
            "wrapped_keys": wrap_keys(keys, hub_public, branch_id),
            "records": result.records,
            "deletes": result.deletes,
            "chunks": chunks,
        }
        manifest = seal_envelope(body, signing_key)
        msha = hashlib.sha256(manifest).hexdigest()
        mpath = out / "manifests" / f"{msha}.json"
        _atomic_write(mpath, manifest)
        new_files.append(mpath)
        entry = {"sequence": sequence, "manifest": f"manifests/{msha}.json", "sha256": msha}
        deltas = [] if kind == "snapshot" or pointer is None else list(pointer["deltas"])
        if kind == "delta":
            deltas.append({**entry, "base_sequence": base})
        new_pointer = {
            "format": FORMAT,
            "branch_id": branch_id,
            "recipient": recipient,
            "sequence": sequence,
            "key_id": key_id,
            "created": body["created"],
            "export_sha256": cur.sha.hexdigest(),
            "snapshot": entry if kind == "snapshot" else pointer["snapshot"],  # type: ignore[index]
            "deltas": deltas,
        }
        _fsync_dir(out / "chunks")
        _fsync_dir(out / "manifests")
        _atomic_write(out / "latest.json", seal_envelope(new_pointer, signing_key))
        _fsync_dir(out)
    except BaseException:
        for path in new_files:
            path.unlink(missing_ok=True)
        raise
    result.chunks = len(chunks)
    result.bytes = sum(c["size"] for c in chunks)
    result.manifest = f"manifests/{msha}.json"
    return result


def _run_blocks(
    blocks: Iterator[_Block],
    keys: GenerationKeys,
    sequence: int,
    out: Path,
    skip: bool,
    workers: int,
    bar: tqdm[Any],
    result: PublishResult,
    chunks: list[dict[str, Any]],
    new_files: list[Path],
) -> None:
    chunk_dir = str(out / "chunks")
    last_cid = ""

    def collect(done: dict[str, Any], size: int) -> None:
        nonlocal last_cid
        if "error" in done:
            raise ExportError(*done["error"])
        result.skipped += len(done["skipped"])
        room = MAX_REPORTED - len(result.skipped_lines)
        result.skipped_lines.extend(done["skipped"][: max(room, 0)])
        bar.update(size)
        if not done["records"]:
            return
        if last_cid and done["first"] <= last_cid:
            raise ExportError(
                -1,
                "customer_ids are not in ascending order across blocks (the export must be sorted by customer_id)",
            )
        last_cid = done["last"]
        if done["new"]:
            new_files.append(out / "chunks" / done["sha256"])
        result.records += done["records"]
        chunks.append({k: done[k] for k in ("sha256", "size", "records")} | {"kind": "upsert"})

    if workers <= 1:
        _init_worker(keys, sequence, chunk_dir, skip)
        for block in blocks:
            collect(_seal_block(block), len(block.lines))
        return
    pending: deque[tuple[Future[dict[str, Any]], int]] = deque()
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(keys, sequence, chunk_dir, skip)
    ) as pool:
        try:
            for block in blocks:
                pending.append((pool.submit(_seal_block, block), len(block.lines)))
                if len(pending) > workers:  # bounded look-ahead keeps memory flat
                    fut, size = pending.popleft()
                    collect(fut.result(), size)
            while pending:
                fut, size = pending.popleft()
                collect(fut.result(), size)
        except BaseException:
            for fut, _ in pending:
                fut.cancel()
            # Chunks finished by still-running workers are written after we return; wait, then
            # the caller removes every new chunk of this run.
            pool.shutdown(wait=True, cancel_futures=True)
            for fut, _ in pending:
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    done = fut.result()
                    if done.get("new"):
                        new_files.append(out / "chunks" / done["sha256"])
            raise
