"""The arrival bench runs end to end at a tiny size (so it cannot rot again unnoticed)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_arrival_bench_runs_and_every_tablet_gets_every_arrival() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.arrival", "--customers", "300", "--tablets", "2",
         "--arrivals", "5", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["arrivals"] == 5
    assert result["recognised"] == 5  # every swiped card is found in the encrypted cache
    assert result["missed_events"] == 0
    assert result["brief_p99_ms"] > 0
