"""Re-export of `branch_common.identifiers` for `drivers/magstripe/readers.py` until it imports that."""

from __future__ import annotations

from branch_common.identifiers import luhn_valid

__all__ = ["luhn_valid"]
