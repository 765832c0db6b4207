"""One staff action, one transaction: its record, push events, HQ record, audit entry and answer.

`Actions.run` executes an action's work in a worker thread inside one transaction of the hub's
database. The work writes its own record, then `scope.event(...)`, `scope.to_hq(...)` and
`scope.audit(...)` join the same transaction, and the answer is remembered under the device's
request id. Only after the commit are the events pushed and the audit relay woken. A crash at any
point leaves all of it or none; a retry with the same request id gets the first answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from branch_hub.context import RequestContext
from branch_hub.database import HubDatabase
from branch_hub.lobby.records import AnsweredRequests, AuditRelay, PendingAudits
from branch_hub.lobby.results import Answer, Replayed
from branch_hub.lobby.visits import Visit
from branch_hub.outbox import Outbox
from branch_hub.push import PushEvent
from branch_hub.security.audit_fields import PendingAudit
from branch_hub.stream import EventStream
from branch_hub.vocabulary import EventKind

__all__ = ["ActionScope", "Actions"]

_A = TypeVar("_A", bound=Answer)


@dataclass
class ActionScope:
    """What an action's work may add to its transaction."""

    actions: Actions
    caller: RequestContext
    now: datetime
    events: list[PushEvent] = field(default_factory=list)
    audits: list[PendingAudit] = field(default_factory=list)

    def event(self, kind: EventKind, data: dict[str, Any]) -> PushEvent:
        """Commit a push event with the action."""
        event = self.actions.stream.append(kind, data)
        self.events.append(event)
        return event

    def audit(self, action: str, visit: Visit | None = None, **fields: Any) -> None:
        """Commit the action's audit entry with it (chained by the relay after the commit)."""
        if visit is not None:
            fields.setdefault("customer_id", visit.customer_id)
            fields.setdefault("subject", f"visit:{visit.visit_id}")
        entry = self.actions.pending.add(
            action, device_id=self.caller.device_id, staff_id=self.caller.staff_id, **fields
        )
        self.audits.append(entry)

    def to_hq(self, kind: str, visit: Visit, payload: dict[str, Any], key: str) -> None:
        """Commit the action's record for HQ with it (walk-ins have no HQ customer)."""
        if visit.customer_id is None:
            return
        body = {"customer_id": visit.customer_id, "at": self.now.isoformat(timespec="seconds")}
        self.actions.outbox.enqueue(kind, body | payload, key)


@dataclass
class Actions:
    """Runs staff and counter actions as single transactions."""

    db: HubDatabase
    stream: EventStream
    outbox: Outbox
    pending: PendingAudits
    relay: AuditRelay
    requests: AnsweredRequests
    clock: Callable[[], datetime]
    day: Callable[[], str]

    async def run(
        self,
        caller: RequestContext,
        request_id: str | None,
        action: str,
        work: Callable[[ActionScope], _A],
        before_push: Callable[[], Awaitable[None]] | None = None,
    ) -> _A | Replayed:
        """Do `work` once per request id; commit everything it wrote together, then push."""
        device = str(caller.device_id)

        def unit() -> tuple[_A | Replayed, list[PushEvent]]:
            scope = ActionScope(self, caller, self.clock())
            with self.db.transaction():
                prior = self.requests.find(device, request_id, action)
                if prior is not None:
                    return Replayed(prior), []
                answer = work(scope)
                wire = answer.to_wire()
                self.requests.remember(device, request_id, action, self.day(), wire)
            self._hand_in(scope)
            return answer, scope.events

        answer, events = await asyncio.get_running_loop().run_in_executor(None, unit)
        if before_push is not None and events:
            await before_push()  # e.g. the call's voice, so the display can play it at once
        for event in events:
            self.stream.publish(event)
        self.relay.wake()
        return answer

    def _hand_in(self, scope: ActionScope) -> None:
        """After the commit: give the action's audit entries to the log's writer (never waits)."""
        for entry in scope.audits:
            self.pending.log.record_entry(entry)

    async def audit_view(
        self, caller: RequestContext, action: str, visit: Visit | None, **fields: Any
    ) -> None:
        """Audit a view of customer data (its own small transaction; chained off the loop)."""

        def unit() -> None:
            scope = ActionScope(self, caller, self.clock())
            with self.db.transaction():
                scope.audit(action, visit, **fields)
            self._hand_in(scope)

        await asyncio.get_running_loop().run_in_executor(None, unit)
        self.relay.wake()
