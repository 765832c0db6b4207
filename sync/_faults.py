"""Named fault-injection points for tests (a crash, a full disk) at exact moments of an apply."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["HOOKS", "point"]

HOOKS: dict[str, Callable[[], None]] = {}


def point(name: str) -> None:
    """Run the test hook registered for this point, if any (no-op in production)."""
    hook = HOOKS.get(name)
    if hook is not None:
        hook()
