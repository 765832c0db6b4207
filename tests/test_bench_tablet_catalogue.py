"""The tap -> product screen bench runs at a tiny size (docs/performance.md quotes its full run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_tablet_catalogue_bench_runs_small(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KIVY_HOME": str(tmp_path), "KIVY_NO_ARGS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.tablet_catalogue", "--taps", "3", "--products", "40",
         "--articles", "10"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["taps"] == 3
    for key in ("tap_to_product_ms_p95", "baseline_switch_ms_p50", "product_over_switch_p50"):
        assert result[key] > 0, key
