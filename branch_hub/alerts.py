"""Hub alerts for the branch's staff: disk space, attacks on logins and enrolment.

Each alert has a key; raising an alert that is already up, or clearing one that is not, pushes
nothing, so a condition that persists is announced once and its end once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from branch_hub.vocabulary import EventKind, HubAlertKind

__all__ = ["AUDIT_DOUBTED", "Alert", "HubAlerts"]

log = logging.getLogger("branch_hub.alerts")

Emit = Callable[[str, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Alert:
    """One raised alert, as tablets show it."""

    kind: HubAlertKind
    key: str
    message: str
    message_zh: str

    def wire(self, *, cleared: bool = False) -> dict[str, Any]:
        """The `hub_alert` event's data."""
        return {
            "alert": str(self.kind),
            "key": self.key,
            "message": self.message,
            "message_zh": self.message_zh,
            "cleared": cleared,
        }


AUDIT_DOUBTED = Alert(
    HubAlertKind.AUDIT_DOUBTED,
    "audit_doubted",
    "The audit log's head does not verify, or HQ holds a later head: the log may have been "
    "cut or rolled back. Tell branch IT (branch-provision audit verify).",
    "审计日志的签名头无法验证，或总行持有更新的签名头：日志可能被截断或回滚。请通知网点IT"
    "（branch-provision audit verify）。",
)


class HubAlerts:
    """The alerts that are up now, pushed to staff tablets as `hub_alert` events."""

    def __init__(self, emit: Emit | None = None) -> None:
        self._emit = emit
        self._up: dict[str, Alert] = {}

    def bind(self, emit: Emit) -> None:
        """Push through this stream from now on (the hub binds it when it is built)."""
        self._emit = emit

    def active(self) -> list[Alert]:
        """The alerts that are up, oldest first."""
        return list(self._up.values())

    async def raise_alert(self, alert: Alert) -> bool:
        """Announce an alert unless it is already up; True when it was pushed."""
        if alert.key in self._up:
            return False
        self._up[alert.key] = alert
        log.warning("alert %s: %s", alert.key, alert.message)
        if self._emit is not None:
            await self._emit(EventKind.HUB_ALERT, alert.wire())
        return True

    async def clear(self, key: str) -> bool:
        """Announce the end of an alert that is up; True when it was pushed."""
        alert = self._up.pop(key, None)
        if alert is None:
            return False
        log.info("alert %s cleared", key)
        if self._emit is not None:
            await self._emit(EventKind.HUB_ALERT, alert.wire(cleared=True))
        return True
