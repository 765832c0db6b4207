"""A small run of `bench.publish_scale`: Dask and one process agree byte for byte; projection sane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_publish_scale_bench_small() -> None:
    argv = ["--customers", "600", "--branches", "3", "6", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "bench.publish_scale", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["identical"] is True
    assert [r["branches"] for r in result["runs"]] == [3, 6]
    assert all(r["records"] > 0 for r in result["runs"])
    assert result["bank_branches"] == 1300
    assert result["records_per_s_per_core"] > 0
    for kind in ("snapshot", "delta"):  # more cores never take longer
        hours = [result[f"{kind}_h_{n}_cores"] for n in (2, 32, 256)]
        assert hours == sorted(hours, reverse=True)
        assert all(h > 0 for h in hours)
