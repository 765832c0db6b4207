"""A test hook `branch_hub/outbox.py` still imports; no test and nothing in `sync/` uses it.

Crash and disk-full tests wrap the real functions instead (tests/sync_crash.py,
tests/outbox_crash.py). Delete this module together with the outbox's import of it.
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
