"""Lazy package exports (PEP 562): a package names what it offers without importing it.

Importing a pure codec (`drivers.printer.status`) runs its package's `__init__`; with lazy
exports that no longer pulls in pyserial, termios, python-escpos, pyscard or Pillow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], object]:
    """Return a module `__getattr__` that imports `exports[name]` (a submodule) on first use."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
