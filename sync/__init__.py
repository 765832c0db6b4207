"""HQ-to-branch data: synthetic HQ export, bundle format, publisher, puller, encrypted cache.

The names below load their module on first use, so HQ tooling (synth, publish) does not need
the hub's extras (sqlite-utils) installed.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CacheStatus",
    "Customer",
    "CustomerCache",
    "PublishResult",
    "PullResult",
    "SyncError",
    "cache_status",
    "publish",
    "pull",
]

_HOME = {
    "CacheStatus": "sync.cache",
    "Customer": "sync.cache",
    "CustomerCache": "sync.cache",
    "cache_status": "sync.cache",
    "PublishResult": "sync.publisher",
    "publish": "sync.publisher",
    "PullResult": "sync.puller",
    "pull": "sync.puller",
    "SyncError": "sync.errors",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'sync' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
