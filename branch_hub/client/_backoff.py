"""Reconnect delays: the one back-off of the project (exponential, capped, jittered)."""

from __future__ import annotations

from branch_common.backoff import Backoff

__all__ = ["Backoff"]
