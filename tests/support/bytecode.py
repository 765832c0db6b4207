"""Compiled bytecode of this checkout for the test session, kept outside the source tree.

With PYTHONDONTWRITEBYTECODE set (as in the shells this suite runs in) no interpreter ever
caches the project's bytecode, so every child process the tests start (hubs, command-line
tools, the fresh-import check) compiles each module it imports from source again, roughly
half of a cold import. Compiling once into `.cache/pycache` and pointing PYTHONPYCACHEPREFIX
there lets them all read it, while the tree itself stays free of `__pycache__` folders.
"""

from __future__ import annotations

import compileall
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".cache" / "pycache"


def _packages() -> list[Path]:
    return sorted(p for p in ROOT.iterdir() if (p / "__init__.py").is_file())


def share_bytecode() -> None:
    """Compile the checkout's packages into PREFIX and make this process and its children read it."""
    if not sys.dont_write_bytecode or sys.pycache_prefix or os.environ.get("PYTHONPYCACHEPREFIX"):
        return  # interpreters cache bytecode themselves, or someone chose where
    PREFIX.mkdir(parents=True, exist_ok=True, mode=0o700)
    sys.pycache_prefix = str(PREFIX)
    for package in _packages():
        # py_compile writes even when dont_write_bytecode is set; stale files are recompiled.
        compileall.compile_dir(package, quiet=1, workers=1)
    os.environ["PYTHONPYCACHEPREFIX"] = str(PREFIX)
