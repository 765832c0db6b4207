"""The login-burst bench runs end to end at a tiny size (both arrangements, one hub each)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_login_burst_bench_runs_and_our_pool_trims_after_the_burst() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.login_burst", "--logins", "3", "--rounds", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["logins"] == 3
    assert result["health_answers"] > 0
    assert result["baseline_health_answers"] > 0
    assert result["peak_rss_mb"] > 0
    assert result["baseline_peak_rss_mb"] > 0
    assert {"peak_rss_ratio", "rss_after_ratio", "health_p99_ratio"} <= set(result)
    assert result["trims"] >= 1  # returned freed memory after the burst (once: unit test)
    assert result["baseline_trims"] == 0  # the old arrangement never trims
