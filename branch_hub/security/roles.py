"""Staff roles and device kinds, as the API contract names them (from the one vocabulary)."""

from __future__ import annotations

from branch_hub.vocabulary import STAFF_DEVICE_KINDS, STAFF_ROLES, DeviceKind

__all__ = ["DEVICE_KINDS", "ROLES", "STAFF_DEVICE_KINDS"]

ROLES = STAFF_ROLES
DEVICE_KINDS = frozenset(DeviceKind)
