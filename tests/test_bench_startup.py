"""A small run of `bench.startup`: its JSON, and start-up far below a replay of the whole history."""

from __future__ import annotations

import json

import pytest

from bench import startup


def test_startup_bench_small(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--events", "300", "--events", "20000", "--per-day", "200", "--repeats", "3"]
    assert startup.main([*argv, "--replay-all", "--prune", "--keep-days", "2"]) == 0
    runs = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["events"] for r in runs] == [300, 20000]
    for run in runs:
        assert run["ratio"] == pytest.approx(run["startup_s"] / run["baseline_s"], rel=0.05)
    small, large = runs
    assert large["days"] == 100
    # A hub that replayed everything would take about as long as the replay.
    assert large["startup_s"] * 10 < large["replay_all_s"]
    assert large["pruned_events"] == 20000 - 3 * 200  # today and the two days before it kept
    assert small["pruned_events"] == 0
