"""Compiled bytecode of this checkout's packages, written once at the start of a test session.

With PYTHONDONTWRITEBYTECODE set (as in the shells this suite runs in) no interpreter ever
caches the project's own bytecode, so every child process the tests start (hubs, command-line
tools, the fresh-import check) compiles each of our modules it imports from source again. The
installed libraries keep their own `__pycache__`; ours get one here (ignored by git, dropped by
the tablet's APK build), so the suite compiles each module once.
"""

from __future__ import annotations

import compileall
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _packages() -> list[Path]:
    return sorted(p for p in ROOT.iterdir() if (p / "__init__.py").is_file())


def compile_checkout() -> None:
    """Write the `__pycache__` of every top-level package when interpreters will not."""
    if not sys.dont_write_bytecode or sys.pycache_prefix:
        return  # interpreters cache bytecode themselves, or read it from a chosen place
    for package in _packages():
        # py_compile writes even when dont_write_bytecode is set; only stale files are redone.
        compileall.compile_dir(package, quiet=1, workers=1)
