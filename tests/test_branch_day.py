"""A very short branch day against the real hub process: nothing lost, duplicated or missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from branch_demo.day import DayOptions, run_day
from branch_demo.site import SiteOptions


@pytest.mark.timeout(240)
def test_short_branch_day_loses_nothing(tmp_path: Path) -> None:
    """Ten simulated minutes at speed 120: one kill -9, a WAN outage, a delta, HQ's catalogue."""
    opts = DayOptions(
        hours=1 / 6,
        speed=120,
        customers=300,
        stations=2,
        tablets=4,
        restarts=1,
        outage_min=4,
    )
    result = run_day(opts, tmp_path / "day")
    assert result["tickets_issued"] > 0
    assert result["tickets_lost"] == 0
    assert result["tickets_duplicated"] == 0
    assert result["tickets_called_never_received"] == 0
    assert result["events_missed_by_tablets"] == 0
    assert result["outcomes_received_at_hq"] == result["outcomes_created"]
    assert result["outcomes_duplicated_at_hq"] == 0
    assert result["hub_restarts"] == 1
    # Every read customer is known: a walk-in after a read is named by device and hub death.
    assert sum(result["walk_ins_by_cause"].values()) == result["walk_ins_caused_by_restarts"]
    # HQ's catalogue was applied by the hub and the export's leads name its products in briefs.
    assert result["catalogue_sequence"] == 1
    assert result["catalogue_products"] == SiteOptions().catalogue_products
    assert result["leads_naming_catalogue_products"] > 0
    assert not any(key.startswith("outcome_") for key in result["errors"]), result["errors"]
    assert result["ok"] is True
