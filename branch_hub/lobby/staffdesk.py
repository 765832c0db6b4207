"""Staff operations: today's visits, role briefs, claims, notes, hand-offs, lead outcomes, queue.

Every change is pushed as a live event (`claimed`, `note_added`, `handoff`, `lead_outcome`,
`called`, `recalled`, `no_show`, `transferred`, `finished`, `ticket_updated`) whose data
names tickets, visits and staff only. Claims, notes, hand-offs and outcomes also go to the
outbox for HQ when the hub has one (`hub.outbox`, H9): the hook is `_to_hq`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from branch_hub.calling import announce_call
from branch_hub.context import RequestContext
from branch_hub.lobby.arrival import Lobby, ticket_wire
from branch_hub.lobby.briefing import AlreadyClaimed, InvalidEntry, NotClaimHolder
from branch_hub.lobby.visits import Visit
from branch_hub.queue import (
    Actor,
    CounterClosed,
    Dashboard,
    EventKind,
    GraceExpired,
    InvalidTransition,
    NotServedHere,
    Outcome,
    QueueError,
    StoreError,
    Ticket,
    TicketState,
    UnknownCounter,
    UnknownService,
    UnknownTicket,
)
from branch_hub.server import ApiError

__all__ = ["OUTCOMES", "StaffDesk"]

log = logging.getLogger("branch_hub.lobby.staff")
OUTCOMES = frozenset({"accepted", "declined", "follow_up", "not_interested"})
_T = TypeVar("_T")
_PUSH_KIND = {
    EventKind.NO_SHOW: "no_show",
    EventKind.TRANSFERRED: "transferred",
    EventKind.FINISHED: "finished",
    EventKind.PARKED: "ticket_updated",
    EventKind.RESUMED: "ticket_updated",
    EventKind.CANCELLED: "ticket_updated",
}


def _queue_error(exc: QueueError) -> ApiError:
    if isinstance(exc, UnknownTicket):
        return ApiError(404, "unknown_ticket", "no such ticket today")
    if isinstance(exc, UnknownCounter):
        return ApiError(404, "unknown_counter", "no such counter")
    if isinstance(exc, UnknownService):
        return ApiError(400, "unknown_service", "no such service at this branch")
    if isinstance(exc, GraceExpired):
        return ApiError(409, "grace_expired", "the no-show grace period is over")
    if isinstance(exc, CounterClosed):
        return ApiError(409, "counter_closed", "the counter is not open")
    if isinstance(exc, NotServedHere):
        return ApiError(409, "not_served_here", "that counter does not serve this service")
    if isinstance(exc, InvalidTransition):
        return ApiError(409, "invalid_transition", str(exc))
    if isinstance(exc, StoreError):
        return ApiError(503, "queue_unavailable", "the queue database is unavailable")
    return ApiError(409, "queue_refused", str(exc))


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    """The ticket as staff lists show it."""
    return {
        "id": ticket.id,
        "number": ticket.number,
        "service": ticket.service,
        "state": ticket.state.value,
        "counter_id": ticket.counter_id,
        "issued_at": ticket.issued_at.isoformat(),
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
    }


def dashboard_wire(board: Dashboard) -> dict[str, Any]:
    """The lobby manager's dashboard as JSON."""
    return {
        "at": board.at.isoformat(),
        "day": board.day.isoformat() if board.day else None,
        "services": [
            {
                "service": s.service,
                "waiting_priority": s.waiting_priority,
                "waiting_ordinary": s.waiting_ordinary,
                "longest_wait_min": s.longest_wait_min,
                "median_service_min": s.median_service_min,
                "p80_service_min": s.p80_service_min,
            }
            for s in board.services
        ],
        "counters": [
            {
                "counter_id": c.counter_id,
                "number": c.number,
                "open": c.open,
                "current": ticket_view(c.current) if c.current else None,
                "reserved_waiting": c.reserved_waiting,
            }
            for c in board.counters
        ],
        "current_calls": [ticket_view(t) for t in board.current_calls],
        "parked": board.parked,
        "longest_wait_min": board.longest_wait_min,
    }


class StaffDesk:
    """What staff on tablets and counters do; handlers call it after the role check."""

    def __init__(self, lobby: Lobby) -> None:
        self.lobby = lobby
        self.hub = lobby.hub
        self.config = lobby.config

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    async def _queue(self, fn: Callable[[], Outcome]) -> Outcome:
        try:
            return await self._run(fn)
        except QueueError as exc:
            raise _queue_error(exc) from exc

    def today(self) -> date:
        """The business day in the branch's time zone."""
        return self.lobby.now().astimezone(self.lobby.zone).date()

    async def _visit(self, visit_id: str) -> Visit:
        visit = await self._run(lambda: self.lobby.visits.get(visit_id))
        if visit is None or visit.day != self.today().isoformat():
            raise ApiError(404, "unknown_visit", "no such visit today")
        return visit

    def _audit(
        self,
        action: str,
        context: RequestContext,
        visit: Visit,
        detail: dict[str, str] | None = None,
    ) -> None:
        """Record a view or change of customer data in the hash-chained audit log (H6)."""
        self.hub.audit.record(
            action,
            ctx=context,
            customer_id=visit.customer_id,
            subject=f"visit:{visit.visit_id}",
            detail=detail,
        )

    async def _to_hq(self, kind: str, visit: Visit, payload: dict[str, Any], key: str) -> None:
        """Enqueue a record for HQ when the hub has an outbox (H9); otherwise keep it local.

        Payload fields follow the outbox's kinds (`customer_id`, `staff_id`, `at`, ...); walk-ins
        have no HQ customer and stay local. The local store already holds the record, so an
        outbox refusal is logged, not returned to the caller.
        """
        outbox = getattr(self.hub, "outbox", None)
        if outbox is None or visit.customer_id is None:
            return
        body = {
            "customer_id": visit.customer_id,
            "at": self.lobby.now().isoformat(timespec="seconds"),
            **payload,
        }
        try:
            await self._run(lambda: outbox.enqueue(kind, body, key))
        except Exception as exc:  # the record is stored locally either way
            log.warning("outbox refused a %s record: %s", kind, type(exc).__name__)

    # -- visits and briefs -------------------------------------------------------------------
    async def visits(self, state: str) -> dict[str, Any]:
        """Today's visits, filtered by ticket state."""
        day = self.today().isoformat()
        visits = await self._run(lambda: self.lobby.visits.of_day(day))
        tickets = {t.id: t for t in await self._run(self.lobby.queue.tickets)}
        out = []
        for visit in visits:
            ticket = tickets.get(visit.ticket_id)
            if ticket is None:
                continue
            serving = ticket.state is TicketState.CALLED
            waiting = ticket.state in (TicketState.WAITING, TicketState.PARKED)
            if (state == "waiting" and not waiting) or (state == "serving" and not serving):
                continue
            greeting = None
            if visit.customer_id is not None:
                record = await self._record(visit)
                greeting = self.lobby.briefing.greeting(record)
            out.append(
                {
                    "visit_id": visit.visit_id,
                    "ticket": ticket_view(ticket),
                    "tier": visit.tier,
                    "priority": visit.priority,
                    "salutation_zh": greeting["salutation_zh"] if greeting else None,
                    "claimed_by": self.lobby.briefing.claimed_by(visit.visit_id),
                    "arrived_at": visit.arrived_at,
                    "walk_in": visit.walk_in,
                }
            )
        return {"visits": out}

    async def _record(self, visit: Visit) -> dict[str, Any] | None:
        cache = self.lobby.cache
        if visit.customer_id is None or cache is None:
            return None
        cid = visit.customer_id
        loop = asyncio.get_running_loop()
        try:
            customer = await loop.run_in_executor(
                self.lobby._lookup, lambda: cache.by_customer_id(cid)
            )
        except Exception as exc:  # an unreadable cache gives a minimal brief, not a 500
            log.warning("cache lookup for a brief failed: %s", type(exc).__name__)
            return None
        return customer.record if customer is not None else None

    async def brief(self, context: RequestContext, visit_id: str) -> dict[str, Any]:
        """The visit's brief for the caller's role, built in memory."""
        visit = await self._visit(visit_id)
        record = await self._record(visit)
        self._audit("brief_view", context, visit)
        return self.lobby.briefing.brief(
            record,
            role=str(context.role),
            visit_id=visit.visit_id,
            today=self.today(),
            customer_id=visit.customer_id,
        )

    async def claim(self, context: RequestContext, visit_id: str) -> dict[str, Any]:
        """Claim the visit for the caller (exclusive)."""
        visit = await self._visit(visit_id)
        staff = str(context.staff_id)
        role = str(context.role)
        notes = self.lobby.briefing.notes
        try:
            await self._run(lambda: notes.claim(visit.visit_id, staff_id=staff, role=role))
        except AlreadyClaimed as exc:
            raise ApiError(
                409, "already_claimed", f"{exc.staff_id} has already claimed this customer"
            ) from exc
        self._audit("claim", context, visit)
        await self.hub.emit(
            "claimed", {"visit_id": visit.visit_id, "by": staff, "role": context.role}
        )
        await self._to_hq("claim", visit, {"staff_id": staff}, f"claim:{visit.visit_id}:{staff}")
        return {"visit_id": visit.visit_id, "claimed_by": staff}

    async def add_note(
        self, context: RequestContext, visit_id: str, text: str, for_role: str | None
    ) -> dict[str, Any]:
        """Add a note about the visit for colleagues."""
        visit = await self._visit(visit_id)
        notes = self.lobby.briefing.notes
        try:
            entry = await self._run(
                lambda: notes.add_note(
                    visit.visit_id,
                    by=str(context.staff_id),
                    role=str(context.role),
                    text=text,
                    customer_id=visit.customer_id,
                    for_role=for_role,
                )
            )
        except InvalidEntry as exc:
            raise ApiError(400, "bad_note", str(exc)) from exc
        note = entry.to_brief()
        self._audit("note", context, visit)
        # The text stays out of the event log: tablets fetch it with the brief.
        await self.hub.emit(
            "note_added",
            {"visit_id": visit.visit_id, "by": context.staff_id, "for_role": for_role},
        )
        await self._to_hq(
            "note",
            visit,
            {"staff_id": str(context.staff_id)},
            f"note:{entry.note_id}",
        )
        return {"visit_id": visit.visit_id, "note": note}

    async def handoff(
        self,
        context: RequestContext,
        visit_id: str,
        to_staff: str | None,
        to_role: str | None,
        note: str | None,
    ) -> dict[str, Any]:
        """Hand the customer to a colleague or a role."""
        visit = await self._visit(visit_id)
        target = to_staff or f"role:{to_role}"
        by = str(context.staff_id)
        notes = self.lobby.briefing.notes
        try:
            await self._run(
                lambda: notes.handoff(
                    visit.visit_id,
                    by=by,
                    role=str(context.role),
                    to_staff_id=to_staff,
                    to_role=to_role,
                    note=note,
                    customer_id=visit.customer_id,
                )
            )
        except NotClaimHolder as exc:
            raise ApiError(
                409, "not_claim_holder", "only the colleague who claimed this customer may hand off"
            ) from exc
        except InvalidEntry as exc:
            raise ApiError(400, "bad_handoff", str(exc)) from exc
        data = {"visit_id": visit.visit_id, "by": by, "to_staff_id": to_staff, "to_role": to_role}
        self._audit("handoff", context, visit)
        await self.hub.emit("handoff", data)
        await self._to_hq(
            "handoff",
            visit,
            {"staff_id": by, "to_staff_id": to_staff, "to_role": to_role, "note": note},
            f"handoff:{visit.visit_id}:{by}:{target}",
        )
        return data

    async def lead_outcome(
        self, context: RequestContext, visit_id: str, lead_id: str, outcome: str, note: str | None
    ) -> dict[str, Any]:
        """Record what happened with one of the customer's leads."""
        visit = await self._visit(visit_id)
        record = await self._record(visit)
        leads = {str(lead.get("lead_id")) for lead in (record or {}).get("leads") or []}
        if lead_id not in leads:
            raise ApiError(404, "unknown_lead", "this customer has no such lead")
        by = str(context.staff_id)
        notes = self.lobby.briefing.notes
        try:
            await self._run(
                lambda: notes.record_outcome(
                    visit.visit_id,
                    lead_id,
                    outcome,
                    by=by,
                    role=str(context.role),
                    note=note,
                    customer_id=visit.customer_id,
                )
            )
        except InvalidEntry as exc:
            raise ApiError(400, "bad_outcome", str(exc)) from exc
        data = {"visit_id": visit.visit_id, "lead_id": lead_id, "outcome": outcome, "by": by}
        self._audit("outcome", context, visit, {"lead_id": lead_id, "outcome": outcome})
        await self.hub.emit("lead_outcome", data)
        await self._to_hq(
            "lead_outcome",
            visit,
            {"staff_id": by, "lead_id": lead_id, "outcome": outcome},
            f"outcome:{visit.visit_id}:{lead_id}",
        )
        return data

    # -- queue -------------------------------------------------------------------------------
    def _actor(self, context: RequestContext) -> Actor:
        return Actor(context.staff_id, str(context.device_id))

    async def _announce(self, outcome: Outcome) -> None:
        """Push one live event per queue event of an operation."""
        self.lobby.menu_changed()
        for event in outcome.events:
            ticket = event.ticket
            if ticket is None:
                continue
            if event.kind in (EventKind.CALLED, EventKind.RECALLED):
                counter = next(
                    c
                    for c in self.config.counters
                    if c.id == (event.counter_id or ticket.counter_id)
                )
                await announce_call(
                    self.hub,
                    ticket=ticket.number,
                    service=ticket.service,
                    counter=counter,
                    recalled=event.kind is EventKind.RECALLED,
                    extra={"ticket_id": ticket.id, "visit_id": ticket.visit_ref},
                )
                continue
            kind = _PUSH_KIND.get(event.kind)
            if kind is None:
                continue
            await self.hub.emit(
                kind,
                {
                    "ticket": ticket.number,
                    "ticket_id": ticket.id,
                    "visit_id": ticket.visit_ref,
                    "service": ticket.service,
                    "state": ticket.state.value,
                    "counter_id": event.counter_id or ticket.counter_id,
                    "by": event.actor.staff_id if event.actor else None,
                },
            )

    async def call_next(self, context: RequestContext, counter_id: str) -> dict[str, Any]:
        """Call the next ticket to a counter (opening the counter if it was closed)."""
        if counter_id not in {c.id for c in self.config.counters}:
            raise ApiError(404, "unknown_counter", "no such counter")
        actor = self._actor(context)
        queue = self.lobby.queue

        def op() -> Outcome:
            queue.refresh()
            if counter_id not in queue.engine.open_counters:
                queue.open_counter(counter_id, actor)
            return queue.call_next(counter_id, actor)

        outcome = await self._queue(op)
        await self._announce(outcome)
        ticket = outcome.ticket
        return {"ticket": self._ticket_out(ticket) if ticket else None}

    def _ticket_out(self, ticket: Ticket) -> dict[str, Any]:
        out = ticket_view(ticket)
        out["visit_id"] = ticket.visit_ref
        return out

    async def ticket_op(
        self, context: RequestContext, ticket_id: str, op: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """recall | no-show | finish | park | transfer a ticket."""
        actor = self._actor(context)
        queue = self.lobby.queue
        if op == "recall":
            outcome = await self._queue(lambda: queue.recall(ticket_id, actor))
        elif op == "no-show":
            outcome = await self._queue(lambda: queue.no_show(ticket_id, actor))
        elif op == "finish":
            outcome = await self._queue(lambda: queue.finish(ticket_id, actor))
        elif op == "park":
            outcome = await self._queue(lambda: queue.park(ticket_id, actor))
        elif op == "transfer":
            service, counter = body.get("service"), body.get("counter")
            if service is None and counter is None:
                raise ApiError(400, "transfer_target_required", "give a 'service' or a 'counter'")
            for key, value in (("service", service), ("counter", counter)):
                if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 32):
                    raise ApiError(400, f"bad_{key}", f"'{key}' must be a short string")
            outcome = await self._queue(
                lambda: queue.transfer(ticket_id, actor, to_service=service, to_counter=counter)
            )
        else:  # pragma: no cover - routes only pass the five operations
            raise ApiError(404, "unknown_operation", "no such ticket operation")
        await self._announce(outcome)
        ticket = outcome.ticket
        return {"ticket": self._ticket_out(ticket) if ticket else None}

    async def dashboard(self) -> dict[str, Any]:
        """The queue dashboard for the lobby manager."""

        def read() -> Dashboard:
            self.lobby.queue.refresh()
            return self.lobby.queue.dashboard()

        try:
            board = await self._run(read)
        except QueueError as exc:
            raise _queue_error(exc) from exc
        out = dashboard_wire(board)
        out["waiting"] = self.lobby.waiting_counts()
        return out

    def wire_ticket(self, ticket: Ticket) -> dict[str, Any]:
        """The kiosk form of a ticket (for tests and tools)."""
        return ticket_wire(self.config, ticket, None)
