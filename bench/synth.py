"""Benchmark the synthetic HQ export: customers per second against a plain JSON-dump baseline."""

from __future__ import annotations

import argparse
import io
import json
import resource
import tempfile
import time
from pathlib import Path

from sync.synth import SynthOptions, write_export_file


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export.jsonl"
        started = time.perf_counter()
        write_export_file(SynthOptions(customers=args.customers, seed=1), out, progress=False)
        elapsed = time.perf_counter() - started
        size = out.stat().st_size
    # Baseline: serialising the same number of fixed, pre-built records (no generation).
    record = {
        "customer_id": "C0000000001",
        "name": "王伟",
        "cards": [{"pan": "6222020000000000000"}],
    }
    sink = io.StringIO()
    b_started = time.perf_counter()
    for _ in range(min(args.customers, 200_000)):
        sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    baseline = (time.perf_counter() - b_started) * args.customers / min(args.customers, 200_000)
    result = {
        "customers": args.customers,
        "synth_s": round(elapsed, 2),
        "customers_per_s": round(args.customers / elapsed),
        "export_bytes": size,
        "baseline_dump_s": round(baseline, 2),
        "ratio_vs_dump": round(elapsed / baseline, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
