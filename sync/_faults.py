"""A named test hook still called by `branch_hub/outbox.py`; nothing in `sync/` uses it.

Sync's own crash and disk-full tests wrap the real functions instead (tests/sync_crash.py).
Remove this module once the outbox's crash test does the same.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["HOOKS", "point"]

HOOKS: dict[str, Callable[[], None]] = {}


def point(name: str) -> None:
    """Run the test hook registered for this point, if any (no-op in production)."""
    hook = HOOKS.get(name)
    if hook is not None:
        hook()
