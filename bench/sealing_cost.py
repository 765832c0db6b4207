"""What sealing a copy per branch costs against sealing once per region, same export, same run.

python -m bench.sealing_cost [--customers N] [--branches 1 10 50] [--model-customers M]

One synthetic export (sync.synth) stands for a region's customers. For each B (branches in the
region): (a) per branch, today's model: B sealed copies, each under that branch's own keys
(sync.keys.derive_generation_keys) with its keys wrapped for its hub; (b) per region: one copy
sealed under the region's epoch keys, then those keys wrapped for each of the B hubs
(sync.region_sealing); (c) revoking one hub: per region, a new epoch sealed once and wrapped for
the B-1 others (who must all download it); per branch, nothing for the others. Sealing is the
production record format (blind indexes, AES-256-GCM, upsert chunks, SHA-256 names, signed
manifests) in one process; a real `publish()` of one branch (one worker) is the baseline that
shows the prototype seals at the production rate. The last line is JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.bundle import iter_upsert_chunk, record_aad
from sync.errors import BundleError
from sync.keys import GenerationKeys, derive_generation_keys, wrap_keys
from sync.publisher import publish
from sync.region_sealing import (
    branch_manifest,
    derive_epoch_keys,
    epoch_key_id,
    seal_chunks,
    unwrap_epoch_keys,
    wrap_epoch_keys,
)
from sync.synth import SynthOptions, write_export_file

REGION = "R11"
PER_CHUNK = 10_000  # as the publisher's RECORDS_PER_CHUNK
T = TypeVar("T")


@dataclass
class Cost:
    """One way of sealing: time (wall and this process's CPU), what it sealed and stored."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    records_sealed: int = 0
    wraps: int = 0
    bytes_stored: int = 0

    def figures(self) -> dict[str, Any]:
        """The JSON figures, with the sealing rate per CPU second."""
        rate = self.records_sealed / self.cpu_s if self.cpu_s else 0.0
        times = {"wall_s": round(self.wall_s, 4), "cpu_s": round(self.cpu_s, 4)}
        return asdict(self) | times | {"records_sealed_per_s": round(rate)}


@dataclass
class Copy:
    """One sealed copy of the export: its manifest entries, size and first chunk."""

    chunks: list[dict[str, Any]]
    size: int
    first: bytes


def _branch(n: int) -> str:
    return f"B{n:04d}"


def _timed(cost: Cost, work: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    cost.wall_s += time.perf_counter() - wall
    cost.cpu_s += time.process_time() - cpu
    return out


def _seal_copy(lines: list[bytes], keys: GenerationKeys) -> Copy:
    chunks: list[dict[str, Any]] = []
    first = b""
    for data in seal_chunks(lines, keys, 1, PER_CHUNK):
        first = first or data
        count = int.from_bytes(data[4:8], "big")
        sha = hashlib.sha256(data).hexdigest()
        chunks.append({"sha256": sha, "size": len(data), "records": count, "kind": "upsert"})
    return Copy(chunks, sum(c["size"] for c in chunks), first)


def _per_branch(lines: list[bytes], hq: Ed25519PrivateKey, hubs: list[X25519PrivateKey]) -> Cost:
    cost = Cost()

    def run() -> None:
        for n, hub in enumerate(hubs):
            branch = _branch(n)
            keys = derive_generation_keys(hq, branch, "k1")
            copy = _seal_copy(lines, keys)
            wrapped = wrap_keys(keys, hub.public_key(), branch)
            manifest = branch_manifest(hq, branch, keys.key_id, wrapped, copy.chunks)
            cost.records_sealed += len(lines)
            cost.wraps += 1
            cost.bytes_stored += copy.size + len(manifest)

    _timed(cost, run)
    return cost


def _region(
    lines: list[bytes], hq: Ed25519PrivateKey, hubs: dict[int, X25519PrivateKey], epoch: int
) -> tuple[Cost, Copy, dict[int, dict[str, Any]]]:
    cost, wraps = Cost(), {}

    def run() -> Copy:
        keys = derive_epoch_keys(hq, REGION, epoch)
        copy = _seal_copy(lines, keys)
        cost.bytes_stored += copy.size
        for n, hub in hubs.items():
            wraps[n] = wrap_epoch_keys(keys, hub.public_key(), REGION, _branch(n))
            manifest = branch_manifest(hq, _branch(n), keys.key_id, wraps[n], copy.chunks, REGION)
            cost.bytes_stored += len(manifest)
        cost.records_sealed += len(lines)
        cost.wraps += len(hubs)
        return copy

    copy = _timed(cost, run)
    return cost, copy, wraps


def _opens(keys: GenerationKeys, chunk: bytes) -> bool:
    ref, hs, sealed = next(iter_upsert_chunk(chunk))
    try:
        AESGCM(keys.data_key).decrypt(sealed[:12], sealed[12:], record_aad(ref, 1, hs))
    except InvalidTag:
        return False
    return True


def _checks(
    hubs: list[X25519PrivateKey],
    wraps: tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]],
    copies: tuple[Copy, Copy],
) -> dict[str, bool]:
    """Every hub reads its region; the revoked hub (0) gets no new wrap and its old keys fail."""
    (old_wraps, new_wraps), (old, new) = wraps, copies
    last = len(hubs) - 1
    key_id = epoch_key_id(REGION, 2)
    member = unwrap_epoch_keys(new_wraps[last], hubs[last], REGION, _branch(last), key_id)
    revoked_old = unwrap_epoch_keys(
        old_wraps[0], hubs[0], REGION, _branch(0), epoch_key_id(REGION, 1)
    )
    try:
        unwrap_epoch_keys(new_wraps[last], hubs[0], REGION, _branch(last), key_id)
        revoked_unwraps = True
    except BundleError:
        revoked_unwraps = False
    return {
        "member_reads_new_epoch": _opens(member, new.first),
        "revoked_reads_old_epoch": _opens(revoked_old, old.first),
        "revoked_reads_new_epoch": revoked_unwraps or _opens(revoked_old, new.first),
        "revoked_has_new_wrap": 0 in new_wraps,
    }


def _run_b(
    lines: list[bytes], hq: Ed25519PrivateKey, hubs: list[X25519PrivateKey]
) -> dict[str, Any]:
    per_branch = _per_branch(lines, hq, hubs)
    region, old, old_wraps = _region(lines, hq, dict(enumerate(hubs)), 1)
    revoke, new, new_wraps = _region(lines, hq, dict(enumerate(hubs[1:], start=1)), 2)
    b = len(hubs)
    return {
        "branches": b,
        "per_branch": per_branch.figures(),
        "region": region.figures(),
        "revocation_region": revoke.figures() | {"hub_download_bytes": (b - 1) * new.size},
        "revocation_per_branch": Cost().figures() | {"hub_download_bytes": 0},
        "ratio_cpu": round(per_branch.cpu_s / region.cpu_s, 2),
        "ratio_wall": round(per_branch.wall_s / region.wall_s, 2),
        "ratio_bytes": round(per_branch.bytes_stored / region.bytes_stored, 2),
        "checks": _checks(hubs, (old_wraps, new_wraps), (old, new)) if b > 1 else {},
    }


def _wrap_s(hq: Ed25519PrivateKey, hub: X25519PrivateKey, chunks: list[dict[str, Any]]) -> float:
    """CPU seconds for one branch's wrap and signed manifest (the per-branch part of (b))."""
    keys, rounds = derive_epoch_keys(hq, REGION, 9), 200
    started = time.process_time()
    for _ in range(rounds):
        wrapped = wrap_epoch_keys(keys, hub.public_key(), REGION, "B0001")
        branch_manifest(hq, "B0001", keys.key_id, wrapped, chunks, REGION)
    return (time.process_time() - started) / rounds


def _model(
    args: argparse.Namespace, rate: float, wrap_s: float, per_record: float
) -> dict[str, Any]:
    """Scale the measured per-core rates to the bank: every branch of every region."""
    branches, regions, customers = args.model_branches, args.model_regions, args.model_customers
    b = branches / regions
    per_branch_s = branches * customers / rate
    region_s = regions * customers / rate + branches * wrap_s
    revoke_s = customers / rate + (b - 1) * wrap_s
    return {
        "branches": branches,
        "regions": regions,
        "customers_per_region": customers,
        "snapshot_core_h_per_branch": round(per_branch_s / 3600, 2),
        "snapshot_core_h_per_region": round(region_s / 3600, 2),
        "snapshot_origin_gb_per_branch": round(branches * customers * per_record / 1e9, 1),
        "snapshot_origin_gb_per_region": round(regions * customers * per_record / 1e9, 1),
        "revocation_core_s_region": round(revoke_s, 1),
        "revocation_download_gb_region": round((b - 1) * customers * per_record / 1e9, 1),
    }


def _baseline(export: Path, out: Path, hq: Ed25519PrivateKey, hub: X25519PrivateKey) -> float:
    """Wall seconds of a real one-branch publish with one worker (the production path)."""
    started = time.perf_counter()
    publish(export, hub.public_key(), hq, out, "B-BASE", workers=1, progress=False)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON figures last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--branches", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--model-branches", type=int, default=1_300)
    parser.add_argument("--model-regions", type=int, default=30)
    parser.add_argument("--model-customers", type=int, default=3_000_000)
    args = parser.parse_args(argv)
    hq = Ed25519PrivateKey.generate()
    hubs = [X25519PrivateKey.generate() for _ in range(max(args.branches))]
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export.jsonl"
        opts = SynthOptions(customers=args.customers, seed=7, as_of=date(2026, 11, 1))
        write_export_file(opts, export, workers=1, progress=False)
        lines = export.read_bytes().splitlines(keepends=True)
        publish_s = _baseline(export, Path(tmp) / "published", hq, hubs[0])
    runs = []
    for b in args.branches:
        print(f"sealing for {b} branches", file=sys.stderr, flush=True)
        runs.append(_run_b(lines, hq, hubs[:b]))
    one = runs[0]["per_branch"]
    wall_one = one["wall_s"] / one["wraps"]
    sealed = [r["per_branch"] for r in runs]
    rate = sum(c["records_sealed"] for c in sealed) / sum(c["cpu_s"] for c in sealed)
    per_record = one["bytes_stored"] / one["records_sealed"]
    wrap_s = _wrap_s(
        hq, hubs[0], [{"sha256": "0" * 64, "size": 1, "records": 1, "kind": "upsert"}] * 300
    )
    result = {
        "customers": args.customers,
        "runs": runs,
        "publish_one_branch_s": round(publish_s, 3),
        "prototype_one_copy_s": round(wall_one, 3),
        "prototype_vs_publish": round(wall_one / publish_s, 2),
        "seal_records_per_core_s": round(rate),
        "bytes_per_record": round(per_record, 1),
        "wrap_and_manifest_ms": round(wrap_s * 1000, 3),
        "model": _model(args, rate, wrap_s, per_record),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
