"""Simulated devices for tests, the demo and developers without hardware."""

from __future__ import annotations

__all__: list[str] = []
