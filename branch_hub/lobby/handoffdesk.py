"""Hand-off to a person: the staff directory, handing a customer on, accepting, managers' alerts.

A hand-off names one colleague (or a role) and may say where the customer was taken ("escorted
to the VIP room"). The receiver accepts it: only the named colleague, or someone of the role.
Each change is one transaction (`Actions.run`): the book's row, the push event, the record for
HQ and the audit entry commit together, and a retry with the same request id gets the first
answer. A customer's own relationship manager is alerted on arrival (`KioskTickets`); the
alert waits here until dismissed or the visit ends, so a manager who logs in later sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from branch_hub.context import RequestContext
from branch_hub.lobby.actions import ActionScope
from branch_hub.lobby.errors import (
    HandoffTaken,
    NoManagerAlert,
    NoPendingHandoff,
    NotHandoffReceiver,
    UnknownStaff,
)
from branch_hub.lobby.handoff_results import (
    AlertDismissed,
    Colleague,
    HandoffAccepted,
    HandoffGiven,
    ManagerAlert,
    ManagerAlerts,
    StaffDirectory,
)
from branch_hub.lobby.handoffs import HandoffBook, PendingHandoff
from branch_hub.lobby.results import Answer
from branch_hub.lobby.staffdesk import StaffDesk
from branch_hub.queue import TicketState
from branch_hub.security.staff import StaffAccount
from branch_hub.vocabulary import CustomerLocation, EventKind, Role

__all__ = ["HandoffDesk"]

_T = TypeVar("_T")
_ENDED = frozenset({TicketState.FINISHED, TicketState.NO_SHOW, TicketState.CANCELLED})


class HandoffDesk:
    """Hand-offs to a person and managers' alerts; the API calls it after its checks."""

    def __init__(
        self,
        desk: StaffDesk,
        staff: Callable[[], list[StaffAccount]],
        on_duty: Callable[[], set[str]],
    ) -> None:
        self.desk = desk
        self.book: HandoffBook = desk.lobby.handoffs
        self._staff = staff
        self._on_duty = on_duty

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    def _day(self) -> str:
        return self.desk.today().isoformat()

    async def directory(self) -> StaffDirectory:
        """Colleagues by name and role, on duty (a live session now) first; never a PIN."""
        accounts = await self._run(self._staff)
        duty = self._on_duty()
        listed = [
            Colleague(a.staff_id, a.name, Role(a.role), a.staff_id in duty)
            for a in accounts
            if not a.disabled
        ]
        listed.sort(key=lambda c: (not c.on_duty, c.role, c.name))
        return StaffDirectory(tuple(listed))

    async def _colleague(self, staff_id: str) -> StaffAccount:
        accounts = await self._run(self._staff)
        found = next((a for a in accounts if a.staff_id == staff_id and not a.disabled), None)
        if found is None:
            raise UnknownStaff(f"no colleague {staff_id!r} at this branch")
        return found

    async def handoff(
        self,
        caller: RequestContext,
        visit_id: str,
        to_staff: str | None,
        to_role: Role | None,
        location: CustomerLocation | None,
        note: str | None,
        request_id: str | None = None,
    ) -> Answer:
        """Hand the customer to a colleague or a role, saying where they were taken."""
        visit = await self.desk._visit(visit_id)
        receiver = await self._colleague(to_staff) if to_staff is not None else None
        by, day = str(caller.staff_id), self._day()
        target = to_staff or f"role:{to_role}"

        def work(scope: ActionScope) -> HandoffGiven:
            self.desk.notes.handoff(
                visit.visit_id,
                by=by,
                role=str(caller.role),
                to_staff_id=to_staff,
                to_role=to_role,
                to_staff_role=receiver.role if receiver is not None else None,
                note=note,
                customer_id=visit.customer_id,
                at=scope.now,
            )
            at = scope.now.isoformat(timespec="seconds")
            pending = PendingHandoff(visit.visit_id, by, to_staff, to_role, location, at)
            self.book.record(day, pending)
            done = HandoffGiven(visit.visit_id, by, to_staff, to_role, location, note)
            scope.event(EventKind.HANDOFF, done.to_wire())
            payload = {"staff_id": by, "to_staff_id": to_staff, "to_role": to_role, "note": note}
            payload["location"] = location
            scope.to_hq("handoff", visit, payload, f"handoff:{visit.visit_id}:{by}:{target}")
            scope.audit("handoff", visit, detail={"location": location})
            return done

        return await self.desk.actions.run(caller, request_id, f"handoff:{visit_id}", work)

    async def accept(
        self, caller: RequestContext, visit_id: str, request_id: str | None = None
    ) -> Answer:
        """The receiver takes the customer over (and holds the claim); the giver hears of it."""
        visit = await self.desk._visit(visit_id)
        staff, role, day = str(caller.staff_id), str(caller.role), self._day()

        def work(scope: ActionScope) -> HandoffAccepted:
            pending = self.book.of_visit(visit.visit_id, day)
            if pending is None:
                raise NoPendingHandoff(f"visit {visit.visit_id} has no hand-off")
            if not pending.may_accept(staff, role):
                raise NotHandoffReceiver(f"{staff} is not the receiver of {visit.visit_id}")
            if pending.accepted_by not in (None, staff):
                raise HandoffTaken(f"{pending.accepted_by} already accepted {visit.visit_id}")
            done = HandoffAccepted(visit.visit_id, staff, pending.by, pending.location)
            if pending.accepted_by == staff:
                return done  # accepted before: nothing new to tell
            self.desk.notes.claim(visit.visit_id, staff_id=staff, role=role, at=scope.now)
            self.book.accept(visit.visit_id, staff, scope.now.isoformat(timespec="seconds"))
            scope.event(EventKind.HANDOFF_ACCEPTED, done.to_wire())
            payload = {"staff_id": staff, "by_staff_id": pending.by}
            scope.to_hq("handoff_accepted", visit, payload, f"accept:{visit.visit_id}:{staff}")
            scope.audit("handoff_accept", visit)
            return done

        action = f"accept:{visit_id}"
        return await self.desk.actions.run(caller, request_id, action, work)

    async def alerts(self, caller: RequestContext) -> ManagerAlerts:
        """The caller's own customers who arrived today, still in the branch, not dismissed."""
        staff, day = str(caller.staff_id), self._day()
        lobby = self.desk.lobby

        def read() -> list[ManagerAlert]:
            tickets = {t.id: t for t in lobby.queue.tickets()}
            out = []
            for visit_id, at in self.book.alerts_for(staff, day):
                visit = lobby.visits.get(visit_id)
                ticket = tickets.get(visit.ticket_id) if visit is not None else None
                if visit is None or ticket is None or ticket.state in _ENDED:
                    continue
                out.append(ManagerAlert(visit_id, ticket.number, None, at))
            return out

        listed = []
        for alert in await self._run(read):
            visit = await self.desk._visit(alert.visit_id)
            greeting = lobby.briefing.greeting(await lobby.record_of(visit))
            salutation = greeting["salutation_zh"] if greeting else None
            listed.append(ManagerAlert(alert.visit_id, alert.ticket, salutation, alert.at))
        if listed:
            detail = {"alerts": len(listed)}
            await self.desk.actions.audit_view(caller, "manager_alerts_view", None, detail=detail)
        return ManagerAlerts(tuple(listed))

    async def dismiss(
        self, caller: RequestContext, visit_id: str, request_id: str | None = None
    ) -> Answer:
        """Dismiss one of the caller's alerts (the manager has seen the customer)."""
        staff, day = str(caller.staff_id), self._day()

        def work(scope: ActionScope) -> AlertDismissed:
            if not self.book.dismiss(staff, visit_id, day):
                raise NoManagerAlert(f"no alert of {visit_id} for {staff}")
            scope.audit("manager_alert_dismiss", None, subject=f"visit:{visit_id}")
            return AlertDismissed(visit_id)

        return await self.desk.actions.run(caller, request_id, f"dismiss:{visit_id}", work)
