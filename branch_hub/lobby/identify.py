"""A walk-in whose customer identifies later: the ticket keeps its number, takes the class.

POST /tickets/{ticket_id}/identify {by: id_number | passbook | pan, value}   (lobby manager)
  -> CustomerCache.identify in the lobby's lookup thread          (unknown -> CustomerNotFound)
  -> one transaction (`Actions.run`): QueueStore.identify (the `identified` queue event: the
     tier's class as from the ticket's entry), the visit sealed again as recognised, the
     `arrival` push again with `identified: true` (tablets replace the walk-in row and fetch
     the brief), `waiting_changed`, the manager's alert, the audit entry
  -> nothing changes on any refusal (unknown ticket, not waiting, already known, not found).
POST /tickets/{ticket_id}/identify {by: desk, station: D1}                 (lobby manager)
  -> the ticket checked first (a repeated request gets its first answer without a read)
  -> the next read at desk D1's reader (desk_reads.py), then as above with what it read.

The identifier is used for the one lookup and never stored; the visit keeps HQ's customer id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from branch_hub.context import RequestContext
from branch_hub.lobby.actions import Actions, ActionScope
from branch_hub.lobby.arrival import Lobby
from branch_hub.lobby.errors import (
    AlreadyIdentified,
    CustomerNotFound,
    TicketNotWaiting,
    UnknownVisit,
)
from branch_hub.lobby.results import Answer, CounterTicket, Replayed
from branch_hub.lobby.visits import Visit
from branch_hub.lobby.wire import ticket_wire
from branch_hub.queue import Actor, NotWaiting, TicketState, waiting_snapshot
from branch_hub.vocabulary import EventKind, IdentifiedBy
from sync.cache import Customer

__all__ = ["IDENTIFIERS", "identify_at_desk", "identify_known", "identify_ticket"]

log = logging.getLogger("branch_hub.lobby.identify")

IDENTIFIERS = {
    "id_number": IdentifiedBy.ID_NUMBER,
    "passbook": IdentifiedBy.PASSBOOK,
    "pan": IdentifiedBy.PAN,
}
"""What the caller may name the customer by, and what the visit then records."""


async def find_customer(lobby: Lobby, kind: str, value: str) -> Customer:
    """Look an identifier up in the customer cache (lookup thread), or raise CustomerNotFound."""
    cache = await lobby._open_cache()
    if cache is None:
        raise CustomerNotFound("the customer cache is not available")
    loop = asyncio.get_running_loop()
    try:
        customer = await loop.run_in_executor(lobby._lookup, cache.identify, kind, value)
    except Exception as exc:  # a malformed number or an unreadable cache: not found
        log.info("late identification failed: %s", type(exc).__name__)
        customer = None
    if customer is None:
        raise CustomerNotFound("no customer with this identifier")
    return customer


async def identify_ticket(
    lobby: Lobby,
    actions: Actions,
    caller: RequestContext,
    ticket_id: str,
    kind: str,
    value: str,
    request_id: str | None = None,
) -> Answer:
    """Identify a waiting walk-in ticket's customer: its class, visit, brief and alerts."""
    customer = await find_customer(lobby, kind, value)
    by = str(IDENTIFIERS.get(kind, kind))
    return await identify_known(lobby, actions, caller, ticket_id, customer, by, request_id)


async def identify_at_desk(
    lobby: Lobby,
    actions: Actions,
    caller: RequestContext,
    ticket_id: str,
    station: str,
    request_id: str | None = None,
) -> Answer:
    """Identify a waiting walk-in ticket with the ID card read at a staff desk's reader."""
    device, action = str(caller.device_id), _action(ticket_id)

    def before_read() -> Replayed | None:
        prior = actions.requests.find(device, request_id, action)
        if prior is not None:
            return Replayed(prior)
        _waiting_walk_in(lobby, ticket_id)  # refused now, not after the card is read
        return None

    loop = asyncio.get_running_loop()
    if (answered := await loop.run_in_executor(None, before_read)) is not None:
        return answered
    read = await lobby.desk_reads.next_read(station)
    customer = await find_customer(lobby, read.kind, read.value)
    by = read.method or str(IDENTIFIERS.get(read.kind, read.kind))
    return await identify_known(lobby, actions, caller, ticket_id, customer, by, request_id)


def _action(ticket_id: str) -> str:
    return f"ticket-identify:{ticket_id}"


async def identify_known(
    lobby: Lobby,
    actions: Actions,
    caller: RequestContext,
    ticket_id: str,
    customer: Customer,
    by: str,
    request_id: str | None = None,
) -> Answer:
    """Identify a waiting walk-in ticket with a customer already found (the kiosk's session)."""
    actor = Actor(caller.staff_id, str(caller.device_id))

    def work(scope: ActionScope) -> CounterTicket:
        return _commit(lobby, scope, ticket_id, customer, actor, by)

    answer = await actions.run(caller, request_id, _action(ticket_id), work)
    lobby.menu_changed()
    return answer


def _waiting_walk_in(lobby: Lobby, ticket_id: str) -> Visit:
    """The walk-in visit of a waiting ticket, or the refusal (blocking: a worker thread)."""
    queue = lobby.queue
    queue.refresh()
    ticket = queue.ticket(ticket_id)  # UnknownTicket: 404
    visit = lobby.visits.get(ticket.visit_ref)
    if visit is None:
        raise UnknownVisit(f"ticket {ticket.number} has no visit today")
    if not visit.walk_in:
        raise AlreadyIdentified(f"ticket {ticket.number} already has its customer")
    if ticket.state is not TicketState.WAITING:
        raise TicketNotWaiting(f"ticket {ticket.number} is {ticket.state}")
    return visit


def _commit(
    lobby: Lobby,
    scope: ActionScope,
    ticket_id: str,
    customer: Customer,
    actor: Actor,
    by: str,
) -> CounterTicket:
    """Inside the action's transaction: check everything first, then change queue and visit."""
    queue = lobby.queue
    visit = _waiting_walk_in(lobby, ticket_id)
    tier = customer.tier if lobby._known_tier(customer.tier) else None
    try:
        moved = queue.identify(ticket_id, actor, tier=tier).ticket
    except NotWaiting as exc:  # pragma: no cover - checked above under the same lock
        raise TicketNotWaiting(str(exc)) from exc
    assert moved is not None  # noqa: S101 (identify returns its ticket)
    known = replace(
        visit,
        walk_in=False,
        customer_id=customer.customer_id,
        tier=tier,
        priority=moved.priority,
        identified_by=by,
    )
    lobby.visits.replace(known)
    wire = ticket_wire(lobby.config, moved, queue.estimate(moved.id))
    record = customer.record
    lobby.watch_sms(moved, record)
    arrival: dict[str, Any] = lobby._arrival(known, moved, wire, record)
    scope.event(EventKind.ARRIVAL, arrival | {"identified": True})
    scope.event(EventKind.WAITING_CHANGED, waiting_snapshot(queue))
    scope.events.extend(lobby._alert_manager(known, wire, record))
    scope.audit("identification", known, detail={"identified_by": by, "late": True})
    return CounterTicket(moved)
