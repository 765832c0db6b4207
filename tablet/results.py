"""What a finished hub call does to the tablet's screen, applied on the UI thread."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Protocol

from branch_hub.client import (
    DeviceRevoked,
    HubError,
    HubRefused,
    HubUnavailable,
    StaffSessionEnded,
)
from branch_hub.client.models import Brief, TicketResult
from tablet.device import EnrolmentError
from tablet.state import StaffSession, TabletState, screen_for


class Tablet(Protocol):
    """What a result or a refusal changes on the app (the controller is one)."""

    state: TabletState
    message: str
    screen: str
    wiped: bool
    found_hubs: list[Any]
    failures: deque[str]

    def start_stream(self, since: int) -> None:
        """Follow the live stream from `since`."""

    def logout(self, reason: str = "") -> None:
        """End the staff session and forget every customer."""

    def wipe(self, reason: str = "device_revoked") -> None:
        """Forget the device's key and every customer."""

    def open_brief(self, visit_id: str) -> None:
        """Fetch a visit's brief."""


__all__ = ["apply_failure", "apply_result"]

log = logging.getLogger("tablet")

_CONFIRMATIONS = {
    "claim": "已认领",
    "note": "留言已保存",
    "handoff": "已转交",
    "outcome": "已记录结果",
}


def apply_result(tablet: Tablet, tag: str, result: Any) -> None:
    """Show what a hub call returned."""
    # The brief an action fetched again keeps that action's confirmation on screen.
    if not (tag == "brief" and tablet.message in _CONFIRMATIONS.values()):
        tablet.message = ""
    logged_in = tablet.state.session is not None
    if tag == "login":
        _logged_in(tablet, result)
    elif tag == "reload" and logged_in:
        last, visits = result
        tablet.state.board.load(visits, last)
    elif tag == "discover":
        _hubs_found(tablet, list(result))
    elif tag == "enrol":
        tablet.wiped = False
        tablet.screen = "login"
    elif tag == "brief" and logged_in:
        tablet.state.brief = result if isinstance(result, Brief) else None
    elif tag == "serve" and logged_in and isinstance(result, TicketResult):
        _called(tablet, result)
    elif tag == "served" and logged_in and isinstance(result, TicketResult):
        _served(tablet, result)
    elif tag in _CONFIRMATIONS:
        tablet.message = _CONFIRMATIONS[tag]
        brief = tablet.state.brief
        if brief is not None and tag in ("claim", "note", "outcome"):
            tablet.open_brief(brief.visit_id)
    tablet.state.touch()


def _logged_in(tablet: Tablet, result: Any) -> None:
    answer, last, visits = result
    tablet.state.clear()
    tablet.state.session = StaffSession(answer.staff_id, answer.role, answer.name, answer.token)
    tablet.state.board.load(visits, last)
    tablet.screen = screen_for(tablet.state.session.role)
    tablet.start_stream(last)


def _hubs_found(tablet: Tablet, hubs: list[Any]) -> None:
    tablet.found_hubs = hubs
    if hubs:
        hub = hubs[0]
        # Shown for comparison only: the fingerprint must come from IT, not the network.
        tablet.message = (
            f"找到中心 {hub.hub_id}（{hub.branch_id}），证书指纹 {hub.ca_fingerprint[:16]}…"
        )
    else:
        tablet.message = "没有找到网点中心，请手动填写地址"


def _called(tablet: Tablet, result: TicketResult) -> None:
    tablet.state.serving = result.ticket
    tablet.state.brief = None
    if result.ticket is not None and result.ticket.visit_id:
        tablet.open_brief(result.ticket.visit_id)
    elif result.ticket is None:
        tablet.message = "目前没有等候的客户"


def _served(tablet: Tablet, result: TicketResult) -> None:
    ticket = result.ticket
    if ticket is not None and ticket.state == "called":
        tablet.state.serving = ticket
    else:
        tablet.state.serving = None
        tablet.state.brief = None


def apply_failure(tablet: Tablet, tag: str, exc: Exception) -> None:
    """Show why a hub call failed: a revoked device is wiped, an ended session logs out."""
    tablet.failures.append(f"{tag}: {type(exc).__name__} {getattr(exc, 'code', '')}")
    if isinstance(exc, HubRefused):
        if isinstance(exc, DeviceRevoked):
            tablet.wipe(exc.code)
            tablet.message = "本设备已被停用，请重新注册"
            tablet.state.touch()
            return
        if (isinstance(exc, StaffSessionEnded) or exc.status == 401) and tag != "login":
            tablet.logout("session_ended")
            return
        tablet.message = exc.message_zh or exc.message
    elif isinstance(exc, HubUnavailable):
        tablet.message = "暂时连不上网点中心，请稍后再试"
    elif isinstance(exc, EnrolmentError):
        tablet.message = exc.bilingual.replace("\n", " ")
    elif isinstance(exc, HubError):
        tablet.message = str(exc)
    else:
        log.warning("tablet job %s failed: %s", tag, type(exc).__name__)
        tablet.message = "操作未成功，请重试"
    tablet.state.touch()
