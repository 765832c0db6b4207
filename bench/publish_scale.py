"""Benchmark HQ's publishing job on Dask against one process, and project it to a whole bank.

One synthetic bank export (`sync.synth`, customers spread over ~40 districts); for each branch
count, every branch serves one district (so branches share customers, as branches of a
province do), and the same job runs once in one process (the baseline) and once on a
LocalCluster, with the same `created`, so the two output trees must be byte-identical. A delta
of one large branch gives the cost of a 10 % daily delta against its snapshot. The projection
(model in docs/performance.md) uses the measured per-core rate. JSON last line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from sync.keys import load_hub_public, load_signing_private, write_key_pair
from sync.publish_job import PublishJob, run_job
from sync.publish_plan import BranchSpec, JobSettings
from sync.publish_split import split_export
from sync.publisher import publish
from sync.synth import SynthOptions, write_export_file

CREATED = "2026-12-03T02:00:00Z"
BANK_BRANCHES = 1_300
PROVINCES = 31
LARGEST_PROVINCE = 10_000_000
PROVINCE_DECAY = 0.88  # province k holds LARGEST_PROVINCE * 0.88**k customers
CORES = (2, 32, 256)


def _districts(export: Path) -> list[str]:
    """The district codes of the export, most customers first."""
    counts: dict[str, int] = {}
    with export.open("rb") as fh:
        for line in fh:
            region = orjson.loads(line)["region_code"]
            counts[region] = counts.get(region, 0) + 1
    return sorted(counts, key=lambda r: (-counts[r], r))


def _tree_digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return sha.hexdigest()


def _branches(root: Path, n: int, districts: list[str]) -> tuple[BranchSpec, ...]:
    keys = root / "hubs"
    keys.mkdir(exist_ok=True)
    specs = []
    for i in range(n):
        pub = keys / f"S{i:04d}.pub"
        if not pub.exists():
            write_key_pair("hub", keys / f"S{i:04d}.key", pub)
        specs.append(BranchSpec(f"S{i:04d}", pub, (districts[i % len(districts)],)))
    return tuple(specs)


def _one_size(
    root: Path, export: Path, n: int, districts: list[str], workers: int
) -> dict[str, Any]:
    """The same job in one process and on a LocalCluster: times, records, identical bytes."""
    branches = _branches(root, n, districts)
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    records = 0
    for mode in ("serial", "dask"):
        job = PublishJob(
            export, branches, root / "hq_signing.key", root / f"{mode}-{n}", created=CREATED
        )
        started = time.perf_counter()
        result = run_job(job, JobSettings(workers=workers), serial=mode == "serial", report=None)
        times[mode] = time.perf_counter() - started
        cpu[mode] = sum(o.cpu_s for o in result.outcomes)
        if result.failed:
            raise RuntimeError(f"branches failed: {result.failed}")
        records = result.records
    identical = _tree_digest(root / f"serial-{n}") == _tree_digest(root / f"dask-{n}")
    return {
        "branches": n,
        "records": records,
        "serial_s": round(times["serial"], 2),
        "dask_s": round(times["dask"], 2),
        "speedup_vs_serial": round(times["serial"] / times["dask"], 2),
        "serial_cpu_s": round(cpu["serial"], 2),
        "dask_worker_cpu_s": round(cpu["dask"], 2),
        "identical": identical,
    }


def _changed(export: Path, out: Path, share: float) -> Path:
    """The next night's export: `share` of customers touched (9 in 10 changed, 1 in 10 gone)."""
    step = max(1, round(1 / share))
    with export.open("rb") as src, out.open("wb") as dst:
        for i, line in enumerate(src):
            if i % step == 0:
                if i % (step * 10) == 0:
                    continue
                row = orjson.loads(line)
                row["aum"] = row["aum"] + 1000
                line = orjson.dumps(row) + b"\n"
            dst.write(line)
    return out


def _delta_ratio(root: Path, export: Path, share: float) -> dict[str, float]:
    """One branch serving the whole export: snapshot time, then a delta touching `share`."""
    write_key_pair("hub", root / "delta.key", root / "delta.pub")
    hub = load_hub_public(root / "delta.pub")
    signing = load_signing_private(root / "hq_signing.key")
    out = root / "delta-branch"
    started = time.process_time()
    publish(export, hub, signing, out, "D0001", workers=1, progress=False)
    snapshot_s = time.process_time() - started
    nxt = _changed(export, root / "next.jsonl", share)
    started = time.process_time()
    publish(nxt, hub, signing, out, "D0001", previous=export, workers=1, progress=False)
    delta_s = time.process_time() - started
    return {
        "snapshot_cpu_s": round(snapshot_s, 3),
        "delta_cpu_s": round(delta_s, 3),
        "delta_vs_snapshot": round(delta_s / snapshot_s, 3),
    }


def _split_rate(root: Path, export: Path, districts: list[str]) -> float:
    """Export lines per CPU second the job's split reads (one range task's rate)."""
    started = time.process_time()
    split = split_export(export, [(d,) for d in districts], root / "split", skip=False)
    return split.lines / (time.process_time() - started)


def provinces() -> Iterator[tuple[int, int]]:
    """The assumed bank: (customers, branches) per province, branches in proportion to customers."""
    sizes = [round(LARGEST_PROVINCE * PROVINCE_DECAY**k) for k in range(PROVINCES)]
    total = sum(sizes)
    exact = [BANK_BRANCHES * s / total for s in sizes]
    counts = [max(1, int(e)) for e in exact]
    by_remainder = sorted(range(PROVINCES), key=lambda k: int(exact[k]) - exact[k])
    for k in by_remainder[: BANK_BRANCHES - sum(counts)]:
        counts[k] += 1
    yield from zip(sizes, counts, strict=True)


def project(per_core: float, split_per_s: float, delta_vs_snapshot: float) -> dict[str, Any]:
    """Projected wall time for the whole bank on N cores, snapshot and daily delta (hours)."""
    bank = list(provinces())
    records = sum(s * n for s, n in bank)
    customers = sum(s for s, _ in bank)
    out: dict[str, Any] = {
        "bank_branches": sum(n for _, n in bank),
        "bank_customers": customers,
        "records_per_snapshot": records,
        "split_cpu_s": round(customers / split_per_s),
    }
    for cores in CORES:
        split_s = customers / (split_per_s * cores)  # one task per byte range, on every core
        # One branch is one task on one core: the largest branch bounds the wall time.
        sealing = max(records / (per_core * cores), LARGEST_PROVINCE / per_core)
        out[f"snapshot_h_{cores}_cores"] = round((split_s + sealing) / 3600, 2)
        delta = 2 * split_s + delta_vs_snapshot * sealing
        out[f"delta_h_{cores}_cores"] = round(delta / 3600, 2)
    return out


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """The whole benchmark in `root`."""
    export = root / "bank.jsonl"
    opts = SynthOptions(customers=args.customers, seed=1, local_share=0.0)
    write_export_file(opts, export, workers=args.workers, progress=False)
    write_key_pair("hq", root / "hq_signing.key", root / "hq_signing.pub")
    districts = _districts(export)
    sizes = [_one_size(root, export, n, districts, args.workers) for n in args.branches]
    largest, smallest = sizes[-1], sizes[0]
    # Per core: records per CPU second of the Dask workers, which a machine shared with other
    # work does not distort; the wall-clock rate (marginal, the cluster's start left out) too.
    per_core = largest["records"] / largest["dask_worker_cpu_s"]
    extra_s = largest["dask_s"] - smallest["dask_s"]
    extra = largest["records"] - smallest["records"]
    wall_rate = extra / (extra_s * args.workers) if extra > 0 and extra_s > 0 else 0.0
    delta = _delta_ratio(root, export, args.delta_share)
    split_per_s = _split_rate(root, export, districts)
    return {
        "customers": args.customers,
        "districts": len(districts),
        "workers": args.workers,
        "runs": sizes,
        "identical": all(s["identical"] for s in sizes),
        "records_per_s_per_core": round(per_core),
        "serial_records_per_cpu_s": round(largest["records"] / largest["serial_cpu_s"]),
        "records_per_s_per_core_wall": round(wall_rate),
        "serial_records_per_s_wall": round(largest["records"] / largest["serial_s"]),
        "dask_vs_serial_ratio": round(largest["dask_s"] / largest["serial_s"], 3),
        "split_lines_per_s": round(split_per_s),
        "delta_share": args.delta_share,
        **delta,
        **project(per_core, split_per_s, delta["delta_vs_snapshot"]),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print JSON last."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=24_000, help="bank export size")
    parser.add_argument("--branches", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster processes")
    parser.add_argument("--delta-share", type=float, default=0.1)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="publish-scale-") as tmp:
        result = run(args, Path(tmp))
    if not args.json:
        for r in result["runs"]:
            print(
                f"{r['branches']} branches: {r['records']} records, one process {r['serial_s']} s, "
                f"Dask {r['dask_s']} s (x{r['speedup_vs_serial']}), identical {r['identical']}"
            )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
