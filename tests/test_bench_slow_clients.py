"""The slow-client bench runs, and the tablet's requests get through during a small attack."""

from __future__ import annotations

from bench.slow_clients import run


def test_the_tablet_is_answered_while_slow_clients_attack() -> None:
    result = run(connections=50, seconds=3.0, addresses=4, baseline_seconds=2.0)
    for phase in ("baseline", "under_attack"):
        assert result[phase]["requests"] > 5, result
        assert result[phase]["failed"] == 0, result
        assert result[phase]["p95_ms"] is not None, result
    assert result["attack"]["connects"] > 0, result
    assert result["hub_open_files_peak"] >= result["hub_open_files_idle"], result
    assert result["log_warning_lines_during_attack"] <= 3 * 4, result  # a few per address
