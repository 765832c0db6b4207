"""Every benchmark runs in the suite at a tiny size, so none can stop working unnoticed.

Each bench is run as its docs say (`python -m bench.NAME`), in a subprocess; its last line must be
JSON with the figures docs/performance.md quotes. A last test fails when a bench program exists
that no test runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# bench module, tiny arguments, keys its JSON must carry
SMALL_RUNS: list[tuple[str, list[str], set[str]]] = [
    (
        "cache",
        ["--customers", "2000", "--lookups", "200", "--json"],
        {
            "identify_p99_us",
            "identify_ratio_vs_plain",
            "identify_wrong",
            "identify_steps_us",
            "crypto_only_ratio",
        },
    ),
    ("outbox", ["--events", "50"], {"enqueue_ms_p99", "enqueue_vs_plain_p50_ratio"}),
    (
        "backup",
        ["--tickets", "20"],
        {"backup_s", "restore_s", "backup_bytes", "backup_vs_plain_tar"},
    ),
    (
        "queue",
        ["--waiting", "200", "--ops", "50", "--days", "1", "--json"],
        {
            "call_next_p99_us",
            "issue_p99_us",
            "default_policy",
            "wait_range_coverage",
            "wait_range_width_min",
            "wait_point_mae_min",
            "wait_classic_mae_min",
            "wait_range_coverage_holdout",
        },
    ),
    ("security", ["--ops", "50", "--devices", "5"], {"registry_check_ratio", "audit_append_ratio"}),
    (
        "report_month",
        ["--peak", "20", "--days", "2", "--repeat", "1"],
        {"report_month_s", "plain_group_by_s", "report_vs_group_by", "arrivals", "pdf_s"},
    ),
    (
        "lobby_board",
        ["--visits", "30", "--rounds", "3"],
        {"check_ms_p50", "check_vs_lobby_list_ratio", "unclaimed"},
    ),
    ("synth", ["--customers", "500", "--json"], {"customers_per_s", "ratio_vs_dump"}),
    (
        "appointment_checkin",
        ["--customers", "120", "--booked", "5"],
        {"checkin_ms_p50", "plain_greeting_ms_p50", "checkin_vs_plain_ratio", "repeat_ms_p50"},
    ),
    (
        "catalogue",
        ["--products", "40", "--articles", "100"],
        {"publish_s", "pull_s", "pull_vs_copy_ratio", "delta_vs_full_pull_ratio"},
    ),
    (
        "catalogue_copy",
        ["--products", "40", "--articles", "100", "--opens", "3"],
        {
            "first_s",
            "first_vs_baseline_ratio",
            "delta_fetched_chunks",
            "open_ms_p50",
            "file_ms_p50",
        },
    ),
    (
        "catalogue_search",
        ["--products", "200", "--articles", "500", "--queries", "40"],
        {"build_s", "fts_ms_p99", "like_over_fts_p50", "mismatches_vs_like"},
    ),
    (
        "lead_products",
        ["--products", "200", "--briefs", "50"],
        {"brief_us_p50", "ratio_vs_plain_p50"},
    ),
    ("fuzz_drivers", ["--examples", "50", "--workers", "1", "--json"], {"examples", "crashes"}),
    ("kiosk", ["--rounds", "2", "--starts", "1"], {"cold_start_s"}),
    (
        "tablet",
        ["--arrivals", "5", "--rows", "20", "--hours", "0.1", "--per-hour", "60"],
        {"visible_ms_p95", "cold_over_bare", "day_arrivals", "steps", "scroll_frame_ms_p95"},
    ),
    (
        "hub_start",
        ["--days", "3", "--tickets", "20", "--repeats", "1"],
        {"start_s", "baseline_s", "ratio", "push_events", "hub_db_bytes"},
    ),
    (
        "guest_page",
        ["--rounds", "2"],
        {"first_paint_ms_p95", "first_paint_vs_loopback", "update_ms_p95", "update_vs_loopback"},
    ),
    (
        "hub_memory",
        ["--customers", "2000", "--baseline", "1000", "--json"],
        {"listening_mb", "snapshot_peak_ratio", "after_walk_ratio", "delta_peak_ratio"},
    ),
]


def _last_json(stdout: str) -> Any:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("bench", "argv", "keys"), SMALL_RUNS, ids=[r[0] for r in SMALL_RUNS])
def test_bench_runs_small(bench: str, argv: list[str], keys: set[str], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}", *argv],
        cwd=tmp_path,  # from any folder, as a person would run it
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = _last_json(done.stdout)
    assert keys <= set(result), f"missing {keys - set(result)}"
    if bench == "fuzz_drivers":
        assert result["crashes"] == 0
    if bench == "appointment_checkin":
        assert result["checked_in"] == result["tickets"] == 5  # a repeated read issues none
    if bench == "catalogue_search":
        assert result["mismatches_vs_like"] == 0  # the index finds exactly what a scan finds


def _bench_programs() -> list[str]:
    names = []
    for path in sorted((ROOT / "bench").iterdir()):
        if path.is_dir() and (path / "__main__.py").exists():
            names.append(path.name)
        elif path.suffix == ".py" and 'if __name__ == "__main__"' in path.read_text("utf-8"):
            names.append(path.stem)
    return names


# Benches run at a small size by their own test files (the reference that test holds).
RUN_ELSEWHERE = {
    "arrival": ("test_bench_arrival.py", '"bench.arrival"'),
    "collector_load": ("test_bench_collector_load.py", '"bench.collector_load"'),
    "audit_stall": ("test_audit_writer.py", '"bench.audit_stall"'),
    "branch_day": ("test_branch_day.py", "run_day("),
    "fuzz": ("test_bench_fuzz.py", '"bench.fuzz"'),
    "publish_scale": ("test_bench_publish_scale.py", '"bench.publish_scale"'),
    "sealing_cost": ("test_region_sealing.py", '"bench.sealing_cost"'),
    "login_burst": ("test_bench_login_burst.py", '"bench.login_burst"'),
    "tablet_catalogue": ("test_bench_tablet_catalogue.py", '"bench.tablet_catalogue"'),
    "staff_stall": ("test_bench_staff_stall.py", "staff_stall"),
    "startup": ("test_bench_startup.py", "from bench import startup"),
    "slow_clients": ("test_bench_slow_clients.py", "from bench.slow_clients import run"),
    # The attacker process slow_clients starts (its smoke test runs both).
    "slow_attack": ("test_bench_slow_clients.py", "from bench.slow_clients import run"),
}


def test_every_bench_program_is_run_by_a_test() -> None:
    here = {name for name, _, _ in SMALL_RUNS}
    for name, (test_file, reference) in RUN_ELSEWHERE.items():
        assert reference in (ROOT / "tests" / test_file).read_text("utf-8"), name
    unrun = [name for name in _bench_programs() if name not in here | set(RUN_ELSEWHERE)]
    assert not unrun, f"bench programs no test runs: {unrun}"
