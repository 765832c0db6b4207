"""`bench.collector_load` runs at a tiny size: both stores, every event stored once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pgserver import postgres_bindir

ROOT = Path(__file__).resolve().parent.parent


def test_collector_load_bench_runs_small(tmp_path: Path) -> None:
    if postgres_bindir() is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
    argv = ["--branches", "6", "--events", "4", "--resend", "0.5", "--concurrency", "4"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.collector_load", *argv],
        cwd=tmp_path,  # from any folder, as a person would run it
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["posts"] == 6 * 6  # every other event posted twice
    for store in ("pg", "sqlite", "pg_spread"):  # pg_spread: two collectors, one database
        assert result[f"{store}_posted"] == result["posts"]
        assert result[f"{store}_stored"] == result["events"] == 24
        assert result[f"{store}_lost"] == result[f"{store}_duplicated"] == 0
        assert result[f"{store}_refused"] == 0
    assert result["pg_vs_sqlite_throughput"] > 0
