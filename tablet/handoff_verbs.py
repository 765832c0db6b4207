"""The tablet's hand-off verbs (mixed into the controller) and what their answers change.

Handing a customer to a named colleague with the place they were taken, accepting a hand-off,
dismissing an arrival alert, and, after a login, fetching the staff directory and the alerts
the hub kept while the manager held no tablet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from branch_hub.client import CustomerLocation, HubClient, Role, WireError
from branch_hub.client.models import (
    AlertDismissed,
    CommandRequest,
    HandoffAccepted,
    HandoffRequest,
    ManagerAlerts,
    StaffDirectory,
)
from tablet.i18n import _
from tablet.state import TabletState

__all__ = ["HANDOFF_TAGS", "HandoffVerbs", "apply_handoff"]

HANDOFF_TAGS = frozenset({"handoff", "accept", "dismiss", "staff", "alerts"})
_R = TypeVar("_R")


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise WireError(f"{value!r} is not a staff role") from None


def _location(value: str | None) -> CustomerLocation | None:
    try:
        return CustomerLocation(value) if value else None
    except ValueError:
        raise WireError(f"{value!r} is not a place in the branch") from None


class HandoffVerbs:
    """Hand-off verbs of the tablet (the controller provides the plumbing)."""

    state: TabletState

    def _command(
        self, tag: str, build: Callable[[], _R], send: Callable[[HubClient, _R], Any]
    ) -> None:
        raise NotImplementedError

    def submit(self, tag: str, job: Callable[[], Any]) -> None:
        """Run a job on the hub worker."""
        raise NotImplementedError

    def _client(self) -> HubClient:
        raise NotImplementedError

    def handoff(
        self,
        visit_id: str,
        *,
        to_role: str | None = None,
        to_staff_id: str | None = None,
        note: str | None = None,
        location: str | None = None,
    ) -> None:
        """Hand the customer to a colleague or a role, with the place they were taken."""

        def build() -> HandoffRequest:
            place = _location(location)
            if to_staff_id:
                return HandoffRequest(to_staff_id=to_staff_id, note=note or None, location=place)
            role = _role(to_role or "")
            return HandoffRequest(to_role=role, note=note or None, location=place)

        self._command("handoff", build, lambda c, r: c.handoff(visit_id, r))

    def accept_handoff(self, visit_id: str) -> None:
        """Take over a customer handed to me."""
        self._command("accept", CommandRequest, lambda c, r: c.accept_handoff(visit_id, r))

    def dismiss_alert(self, visit_id: str) -> None:
        """I have seen my customer: the arrival alert goes."""
        self._command("dismiss", CommandRequest, lambda c, r: c.dismiss_alert(visit_id, r))

    def pick_handoff(self, visit_id: str | None) -> None:
        """Open (or with None close) the hand-off picker; the directory is fetched afresh."""
        memory = self.state.handoffs
        memory.picking, memory.location = visit_id, None
        if visit_id is not None:
            self.submit("staff", lambda: self._client().staff_directory())
        self.state.touch()

    def choose_location(self, location: str | None) -> None:
        """Choose where the customer was taken (again: unchoose)."""
        memory = self.state.handoffs
        memory.location = None if memory.location == location else location
        self.state.touch()

    def after_login(self) -> None:
        """Fetch the colleagues and the arrival alerts kept for me while I was away."""
        self.submit("staff", lambda: self._client().staff_directory())
        self.submit("alerts", lambda: self._client().manager_alerts())


def apply_handoff(tablet: Any, tag: str, result: Any) -> None:
    """What a hand-off call's answer changes (on the UI thread)."""
    memory = tablet.state.handoffs
    if tag == "staff" and isinstance(result, StaffDirectory):
        memory.colleagues = {m.staff_id: m for m in result.staff}
    elif tag == "alerts" and isinstance(result, ManagerAlerts):
        memory.take_alerts(result.alerts)
    elif tag == "handoff":
        memory.picking = memory.location = None
        tablet.message = _("Handed over")
    elif tag == "accept" and isinstance(result, HandoffAccepted):
        memory.offers.pop(result.visit_id, None)
        tablet.message = _("Accepted: the customer is yours")
        tablet.open_brief(result.visit_id)
    elif tag == "dismiss" and isinstance(result, AlertDismissed):
        memory.alerts.pop(result.visit_id, None)
