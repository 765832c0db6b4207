"""The lobby board's alert thresholds (the per-tier wait targets live with the tiers)."""

from __future__ import annotations

from pydantic import Field

from branch_hub.config._strict import Strict

__all__ = ["LobbySettings"]


class LobbySettings(Strict):
    """When the lobby board alerts the lobby and branch managers."""

    unclaimed_alert_s: float = Field(
        default=120.0,
        ge=1,
        le=3600,
        description="Seconds a priority customer (a tier with `priority = true`) may wait "
        "without a member of staff claiming them before the board alerts.",
    )
    check_interval_s: float = Field(
        default=5.0,
        ge=0.2,
        le=300,
        description="Seconds between the hub's checks of unclaimed customers and waits against "
        "their tier's `wait_target_s`.",
    )
