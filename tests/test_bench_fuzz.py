"""A few seconds of `bench.fuzz` (every parser + the live API over TLS) finds no crash and no 5xx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_short_fuzz_run_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.fuzz", "--minutes", "0.1", "--json", "--seed", "7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["crashes"] == 0, summary["crash_samples"]
    assert summary["server_errors"] == 0, summary["server_error_samples"]
    assert summary["parser_targets"] >= 24
    assert summary["http_requests"] > 50
    assert summary["hub_alive_after"] is True
    assert done.returncode == 0
