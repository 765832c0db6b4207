"""The counter's own hub calls: resume a parked ticket, load the transfer pickers, finish with
the counter lead's outcome (one tap: the outcome, then the finish, in one job)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from branch_hub.client import HubClient, LeadOutcome, TicketOperation
from branch_hub.client.models import (
    CommandRequest,
    LeadOutcomeRequest,
    ResumeRequest,
    TicketResult,
)
from tablet.controller import Tablet
from tablet.i18n import _
from tablet.worker import once_more

__all__ = ["finish_with_outcome", "load_targets", "resume", "transfer"]


def _send(tablet: Tablet, tag: str, job: Callable[[HubClient], Any]) -> None:
    """One user action on the worker (its requests, with their ids, are made before the job)."""
    tablet.activity()
    tablet.submit(tag, lambda: job(tablet._client()))


def load_targets(tablet: Tablet) -> None:
    """Fetch the services and counters a ticket may go to (names, open, busy)."""
    tablet.submit("targets", lambda: once_more(lambda: tablet._client().queue_targets()))


def resume(tablet: Tablet, ticket_id: str, counter_id: str) -> None:
    """Serve a parked ticket at my counter (the one being served, if any, is finished)."""
    request = ResumeRequest(counter_id)
    _send(tablet, "serve", lambda c: once_more(lambda: c.resume(ticket_id, request)))


def transfer(tablet: Tablet, service: str | None, counter_id: str | None) -> None:
    """Send the ticket being served to another service and/or counter."""
    tablet.ticket_op(TicketOperation.TRANSFER, service=service, counter=counter_id)


def finish_with_outcome(tablet: Tablet, visit_id: str, lead_id: str, outcome: LeadOutcome) -> None:
    """Record the counter lead's outcome, then finish the ticket being served."""
    serving = tablet.state.serving
    if serving is None:
        tablet.message = _("No ticket is being served")
        tablet.state.touch()
        return
    told, done = LeadOutcomeRequest(outcome), CommandRequest()

    def job(client: HubClient) -> TicketResult:
        once_more(lambda: client.lead_outcome(visit_id, lead_id, told))
        return once_more(lambda: client.finish(serving.id, done))

    _send(tablet, "served", job)
