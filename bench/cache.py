"""Benchmark the encrypted customer cache against plaintext SQLite, measured in the same run.

python -m bench.cache --customers N [--keep DIR] [--json]

Publishes and applies a snapshot of N synthetic customers, then a delta touching 10 % of them,
then performs 100,000 random identifications (90 % hits, 10 % misses). The baseline inserts the
same rows (customer rows + identifier rows) unencrypted with executemany into plain indexed
tables, and looks the same identifiers up in plaintext. Then each step of both lookups is timed
(bench.cache_stages). `--keep DIR` leaves every file the hub side wrote under DIR/hub/, the
exports and the baseline's database in DIR; `--reuse DIR` times the lookups again on what an
earlier `--keep DIR` run left (a second and third run of a 5M cache without rebuilding it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.cache_data import AS_OF, Queries, lookups_of, make_delta_export, read_in_turn
from bench.cache_stages import stage_costs
from branch_common.identifiers import normalise
from sync.bundle import identifiers_of
from sync.cache import CustomerCache
from sync.cache_apply import APPLY_CACHE_KIB
from sync.keys import load_hub_private, load_hub_public, load_signing_private, write_key_pair
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file

BRANCH = "B-BENCH"
BATCH = 5_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(f"{text} (peak RSS so far {_rss_mb():.0f} MB)", file=sys.stderr, flush=True)


def plain_apply(export: Path, db_path: Path) -> float:
    """Insert the same rows unencrypted into plain indexed tables; return the insert time."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.executescript(
        "PRAGMA page_size=8192; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
        f"PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-{APPLY_CACHE_KIB};"  # the cache's own
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, customer_id TEXT NOT NULL, data BLOB NOT NULL);"
        "CREATE TABLE ident (kind TEXT NOT NULL, value TEXT NOT NULL, customer INTEGER NOT NULL);"
    )
    spent = 0.0
    conn.execute("BEGIN")
    next_id = 1
    with export.open("rb") as fh:
        while True:
            lines = [line for _, line in zip(range(BATCH), fh, strict=False)]
            if not lines:
                break
            rows: list[tuple[int, str, bytes]] = []
            idents: list[tuple[str, str, int]] = []
            for line in lines:
                c = orjson.loads(line)
                rows.append((next_id, c["customer_id"], line))
                idents.extend((k, v, next_id) for k, v in identifiers_of(c))
                next_id += 1
            started = time.perf_counter()
            conn.executemany("INSERT INTO customer VALUES (?,?,?)", rows)
            conn.executemany("INSERT INTO ident VALUES (?,?,?)", idents)
            spent += time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("CREATE UNIQUE INDEX customer_cid ON customer(customer_id)")
    conn.execute("CREATE INDEX ident_kv ON ident(kind, value, customer)")
    conn.execute("COMMIT")
    conn.execute("PRAGMA locking_mode=NORMAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    fd = os.open(db_path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    return spent + time.perf_counter() - started


def _percentile(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000.0


@dataclass
class _Synced:
    """What the sync phase left: the exports, the hub's key and cache folder, and its figures."""

    export: Path
    delta_export: Path
    hub: Path
    hub_key: Any
    plain_db: Path
    figures: dict[str, Any]


def _synthesise(export: Path, customers: int, seed: int, quiet: bool) -> float:
    """Write HQ's export of synthetic customers; return the seconds it took."""
    started = time.perf_counter()
    write_export_file(
        SynthOptions(customers=customers, seed=seed, as_of=AS_OF), export, progress=False
    )
    synth_s = time.perf_counter() - started
    _say(quiet, f"synth: {customers} customers in {synth_s:.1f} s")
    return synth_s


def _keys(hq: Path, hub: Path) -> tuple[Any, Any, Any]:
    """Write HQ's signing keys and the hub's sync keys; return signing, hub private, public."""
    write_key_pair("hq", hq / "hq_signing.key", hq / "hq_signing.pub")
    write_key_pair("hub", hub / "hub_sync.key", hub / "hub_sync.pub")
    shutil.copy(hq / "hq_signing.pub", hub / "hq_signing.pub")
    signing = load_signing_private(hq / "hq_signing.key")
    return signing, load_hub_private(hub / "hub_sync.key"), load_hub_public(hub / "hub_sync.pub")


def _sync(customers: int, work: Path, seed: int, quiet: bool) -> _Synced:
    """Synthesise, publish and pull a snapshot, then a delta; time a plain insert alongside."""
    export, export2 = work / "export.jsonl", work / "export-delta.jsonl"
    hq, hub, pubdir = work / "hq-keys", work / "hub", work / "published"
    for d in (hq, hub):
        d.mkdir(parents=True, exist_ok=True)
    synth_s = _synthesise(export, customers, seed, quiet)
    signing, hub_key, hub_pub = _keys(hq, hub)

    started = time.perf_counter()
    snap = publish(export, hub_pub, signing, pubdir, BRANCH, progress=False)
    publish_s = time.perf_counter() - started
    _say(
        quiet, f"publish snapshot: {snap.records} records, {snap.bytes} bytes in {publish_s:.1f} s"
    )

    def do_pull() -> Any:
        return pull(pubdir.resolve().as_uri() + "/", hub / "cache", hq_public=signing.public_key(),
                    hub_key=hub_key, branch_id=BRANCH, progress=False)  # fmt: skip

    first = do_pull()
    _say(quiet, f"pull snapshot: download {first.download_s:.1f} s, apply {first.apply_s:.1f} s")
    for chunk in (pubdir / "chunks").iterdir():
        chunk.unlink()  # the hub holds the snapshot now; its chunks only take disk (6 GB at 5M)

    plain_db = work / "baseline-plain.db"
    plain_s = plain_apply(export, plain_db)
    _say(quiet, f"baseline plain insert: {plain_s:.1f} s")

    counts = make_delta_export(export, export2, seed + 1)
    started = time.perf_counter()
    delta = publish(export2, hub_pub, signing, pubdir, BRANCH, previous=export, progress=False)
    delta_publish_s = time.perf_counter() - started
    second = do_pull()
    _say(
        quiet,
        f"delta: {delta.records} upserts, {delta.deletes} deletes; publish {delta_publish_s:.1f} s, "
        f"apply {second.apply_s:.1f} s",
    )
    figures = {
        "customers": customers,
        "synth_s": round(synth_s, 2),
        "publish_s": round(publish_s, 2),
        "snapshot_bytes": snap.bytes,
        "snapshot_download_s": round(first.download_s, 2),
        "snapshot_apply_s": round(first.apply_s, 2),
        "apply_records_per_s": round(customers / first.apply_s),
        "plain_apply_s": round(plain_s, 2),
        "apply_ratio_vs_plain": round(first.apply_s / plain_s, 2),
        "delta_upserts": delta.records,
        "delta_deletes": delta.deletes,
        "delta_touched": counts,
        "delta_publish_s": round(delta_publish_s, 2),
        "delta_apply_s": round(second.apply_s, 2),
    }
    return _Synced(export, export2, hub, hub_key, plain_db, figures)


def _identify(
    synced: _Synced, ours_q: Queries, plain_q: Queries
) -> tuple[list[int], list[int], int]:
    """Time identifications in our cache and in the plain baseline; return both and the misses."""
    hub, plain_db = synced.hub, synced.plain_db
    lookups = len(ours_q)
    cache = CustomerCache(hub / "cache", synced.hub_key)
    plain = sqlite3.connect(f"file:{plain_db}?mode=ro", uri=True)
    plain_sql = "SELECT c.data FROM ident i JOIN customer c ON c.id = i.customer WHERE i.kind = ? AND i.value = ?"

    def ours(kind: str, value: str) -> bool:
        return cache.identify(kind, value) is not None

    def baseline(kind: str, value: str) -> bool:
        norm = normalise(kind, value)
        for (data,) in plain.execute(plain_sql, (kind, norm)).fetchall():
            orjson.loads(data)
            return True
        return False

    # Read both database files once, a MiB of each in turn, and warm both up with the same
    # number of lookups, so neither starts colder: this VM's proactive reclaim evicts page-cache
    # pages of files not touched for a minute, and ours was written minutes before the baseline's.
    read_in_turn([*sorted((hub / "cache").glob("customers-*.db")), plain_db])
    for (kind, value, _), (pkind, pvalue, _) in zip(ours_q[:5000], plain_q[:5000], strict=True):
        ours(kind, value)
        baseline(pkind, pvalue)
    ours_ns: list[int] = []
    plain_ns: list[int] = []
    wrong = 0
    clock = time.perf_counter_ns
    # Interleave blocks of both so noise from other processes hits both alike.
    for start in range(0, lookups, 1000):
        for queries, fn, sink in ((ours_q, ours, ours_ns), (plain_q, baseline, plain_ns)):
            call: Callable[[str, str], bool] = fn
            for kind, value, hit in queries[start : start + 1000]:
                t0 = clock()
                found = call(kind, value)
                sink.append(clock() - t0)
                wrong += found != hit
    cache.close()
    plain.close()
    return sorted(ours_ns), sorted(plain_ns), wrong


def _reused(work: Path) -> _Synced:
    """What an earlier `--keep DIR` run left in DIR, to time the lookups again."""
    hub = work / "hub"
    kept = (work / "export.jsonl", work / "export-delta.jsonl", work / "baseline-plain.db")
    if not all(p.exists() for p in (*kept, hub / "hub_sync.key")):
        raise SystemExit(f"{work} holds no kept run (run with --keep {work} first)")
    hub_key = load_hub_private(hub / "hub_sync.key")
    with CustomerCache(hub / "cache", hub_key) as cache:
        status = cache.status
    figures = {"customers": status.records if status else 0, "reused": str(work)}
    return _Synced(kept[0], kept[1], hub, hub_key, kept[2], figures)


def run(synced: _Synced, seed: int, lookups: int, stage_lookups: int, keep: bool) -> dict[str, Any]:
    """Time the identifications (and each of their steps) on a synced cache; return the figures."""
    ours_q, plain_q = lookups_of(synced.export, synced.delta_export, seed, lookups)
    ours_ns, plain_ns, wrong = _identify(synced, ours_q, plain_q)
    stages: dict[str, Any] = {}
    if stage_lookups:
        n = min(stage_lookups, lookups)
        queries = (ours_q[-n:], plain_q[-n:])  # the ones timed last, so the freshest in memory
        stages = stage_costs(synced.hub / "cache", synced.hub_key, synced.plain_db, queries, n)
    plain_db = synced.plain_db
    if not keep:
        plain_db.unlink()
        for extra in ("-wal", "-shm"):
            Path(f"{plain_db}{extra}").unlink(missing_ok=True)
    db_bytes = sum(p.stat().st_size for p in (synced.hub / "cache").glob("customers-*"))
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    p50 = statistics.median(ours_ns) / 1000
    plain_p50 = statistics.median(plain_ns) / 1000
    return {
        **synced.figures,
        "identify_n": len(ours_ns),
        "identify_wrong": wrong,
        "identify_p50_us": round(p50, 2),
        "identify_p99_us": round(_percentile(ours_ns, 0.99), 2),
        "plain_p50_us": round(plain_p50, 2),
        "plain_p99_us": round(_percentile(plain_ns, 0.99), 2),
        "identify_ratio_vs_plain": round(p50 / plain_p50, 3),
        **stages,
        "db_bytes": db_bytes,
        "peak_rss_mb": round(self_rss, 1),
        "peak_rss_workers_mb": round(child_rss, 1),
    }


def main() -> None:
    """Run the benchmark and print JSON as the last line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, default=None, help="leave the hub's files and the baseline in DIR"
    )
    parser.add_argument(
        "--reuse", type=Path, default=None, help="time the lookups again on a kept DIR"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lookups", type=int, default=100_000)
    parser.add_argument(
        "--stage-lookups", type=int, default=20_000, help="lookups per step timing (0: skip)"
    )
    args = parser.parse_args()
    timing = (args.seed, args.lookups, args.stage_lookups)
    if args.reuse is not None:
        result = run(_reused(args.reuse), *timing, keep=True)
    elif args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = run(_sync(args.customers, args.keep, args.seed, args.json), *timing, keep=True)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
            synced = _sync(args.customers, Path(tmp), args.seed, args.json)
            result = run(synced, *timing, keep=False)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
