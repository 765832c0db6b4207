"""What the drivers command line prints: one JSON document on stdout, or one error line on stderr."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["emit", "fail"]


def emit(payload: Any) -> None:
    """Print one JSON document on stdout (UTF-8, Chinese unescaped)."""
    import json

    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=None) + "\n")


def fail(message: str, code: int = 2) -> int:
    """Print a one-line error on stderr and return the exit code."""
    print(f"drivers: error: {message}", file=sys.stderr)
    return code
