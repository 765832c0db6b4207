"""Staff roles and device kinds, as the API contract names them."""

from __future__ import annotations

__all__ = ["DEVICE_KINDS", "ROLES", "STAFF_DEVICE_KINDS"]

ROLES = frozenset({"lobby_manager", "wealth_manager", "account_manager", "teller", "branch_admin"})
DEVICE_KINDS = frozenset({"kiosk", "tablet", "display", "counter"})
# Staff log in only on these kinds; a kiosk or a display never carries a staff session.
STAFF_DEVICE_KINDS = frozenset({"tablet", "counter"})
