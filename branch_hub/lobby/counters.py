"""Counter work: call next, recall, no-show, finish, park, resume, transfer, and the dashboard.

Each operation is one transaction (the queue's change and its push events) and, with a request
id, idempotent across a hub restart: a counter that retries `call-next` after a lost answer gets
the ticket it was given, instead of finishing it unseen and calling another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from branch_hub.config import BranchConfig, Counter
from branch_hub.context import RequestContext
from branch_hub.lobby.actions import Actions, ActionScope
from branch_hub.lobby.errors import TicketNotParked, TransferTarget, UnknownCounter
from branch_hub.lobby.results import Answer, CounterTicket, DashboardView, QueueTargets
from branch_hub.queue import (
    Actor,
    Dashboard,
    Outcome,
    QueueStore,
    TicketState,
    waiting_snapshot,
)
from branch_hub.queue import EventKind as QueueEventKind
from branch_hub.vocabulary import EventKind, TicketOperation
from branch_hub.voice import VoiceCache, VoiceError, announcement

__all__ = ["Counters"]

log = logging.getLogger("branch_hub.lobby.counters")

_PUSH_KIND = {
    QueueEventKind.CALLED: EventKind.CALLED,
    QueueEventKind.RECALLED: EventKind.RECALLED,
    QueueEventKind.NO_SHOW: EventKind.NO_SHOW,
    QueueEventKind.TRANSFERRED: EventKind.TRANSFERRED,
    QueueEventKind.FINISHED: EventKind.FINISHED,
    QueueEventKind.PARKED: EventKind.TICKET_UPDATED,
    QueueEventKind.RESUMED: EventKind.TICKET_UPDATED,
    QueueEventKind.CANCELLED: EventKind.TICKET_UPDATED,
}


class Counters:
    """What tellers and managers do to the queue; every change is pushed with its commit."""

    def __init__(
        self,
        config: BranchConfig,
        queue: QueueStore,
        actions: Actions,
        voice: VoiceCache | None,
        on_change: Callable[[], None],
    ) -> None:
        self.config = config
        self.queue = queue
        self.actions = actions
        self.voice = voice
        self._on_change = on_change
        self._counters = {c.id: c for c in config.counters}
        self.sms_notice: Callable[[], int] | None = None  # texts near the front, when on

    def _actor(self, caller: RequestContext) -> Actor:
        return Actor(caller.staff_id, str(caller.device_id))

    async def call_next(
        self, caller: RequestContext, counter_id: str, request_id: str | None = None
    ) -> Answer:
        """Call the next ticket to a counter (opening the counter if it was closed)."""
        if counter_id not in self._counters:
            raise UnknownCounter(f"no counter {counter_id}")
        actor = self._actor(caller)

        def op() -> Outcome:
            self.queue.refresh()
            if counter_id not in self.queue.engine.open_counters:
                self.queue.open_counter(counter_id, actor)
            return self.queue.call_next(counter_id, actor)

        return await self._run(caller, request_id, "call-next", op)

    async def ticket_op(
        self,
        caller: RequestContext,
        ticket_id: str,
        op: TicketOperation,
        *,
        service: str | None = None,
        counter: str | None = None,
        request_id: str | None = None,
    ) -> Answer:
        """Recall, no-show, finish, park, resume (at `counter`) or transfer a ticket."""
        actor = self._actor(caller)
        queue = self.queue
        if op is TicketOperation.TRANSFER and service is None and counter is None:
            raise TransferTarget("give a service or a counter")
        if op is TicketOperation.RESUME and counter not in self._counters:
            raise UnknownCounter(f"no counter {counter}")
        ops: dict[TicketOperation, Callable[[], Outcome]] = {
            TicketOperation.RECALL: lambda: queue.recall(ticket_id, actor),
            TicketOperation.NO_SHOW: lambda: queue.no_show(ticket_id, actor),
            TicketOperation.FINISH: lambda: queue.finish(ticket_id, actor),
            TicketOperation.PARK: lambda: queue.park(ticket_id, actor),
            TicketOperation.TRANSFER: lambda: queue.transfer(
                ticket_id, actor, to_service=service, to_counter=counter
            ),
            TicketOperation.RESUME: lambda: self._resume(ticket_id, str(counter), actor),
        }
        return await self._run(caller, request_id, f"ticket-{op.value}:{ticket_id}", ops[op])

    def _resume(self, ticket_id: str, counter_id: str, actor: Actor) -> Outcome:
        """Serve a parked ticket at a counter; as with call-next, its current one is finished."""
        queue = self.queue
        queue.refresh()
        parked = queue.ticket(ticket_id)
        if parked.state is not TicketState.PARKED:
            raise TicketNotParked(f"ticket {parked.number} is {parked.state}, not parked")
        if counter_id not in queue.engine.open_counters:
            queue.open_counter(counter_id, actor)
        current = queue.engine.current(counter_id)
        finished = queue.finish(current.id, actor).events if current is not None else ()
        resumed = queue.resume(ticket_id, counter_id, actor)
        return Outcome(resumed.ticket, (*finished, *resumed.events))

    async def _run(
        self,
        caller: RequestContext,
        request_id: str | None,
        action: str,
        op: Callable[[], Outcome],
    ) -> Answer:
        voices: list[Any] = []

        def work(scope: ActionScope) -> CounterTicket:
            outcome = op()
            if outcome.events and self.sms_notice is not None:
                self.sms_notice()  # positions moved: texts are asked for in the same commit
            self._push(scope, outcome, voices)
            if outcome.events:  # the display's and tablets' counts change with the queue
                scope.event(EventKind.WAITING_CHANGED, waiting_snapshot(self.queue))
            return CounterTicket(outcome.ticket)

        answer = await self.actions.run(
            caller, request_id, action, work, before_push=lambda: self._render(voices)
        )
        self._on_change()
        return answer

    def _push(self, scope: ActionScope, outcome: Outcome, voices: list[Any]) -> None:
        """Commit one push event per queue event of the operation."""
        for event in outcome.events:
            ticket = event.ticket
            kind = _PUSH_KIND.get(event.kind)
            if ticket is None or kind is None:
                continue
            counter_id = event.counter_id or ticket.counter_id
            data: dict[str, Any] = {
                "ticket": ticket.number,
                "ticket_id": ticket.id,
                "visit_id": ticket.visit_ref,
                "service": ticket.service,
            }
            if kind in (EventKind.CALLED, EventKind.RECALLED):
                data |= self._call_data(self._counters[str(counter_id)], ticket.number, voices)
            else:
                by = event.actor.staff_id if event.actor else None
                data |= {"state": ticket.state.value, "counter_id": counter_id, "by": by}
            scope.event(kind, data)

    def _call_data(self, counter: Counter, number: str, voices: list[Any]) -> dict[str, Any]:
        """What the display shows and says for a call (the voice is rendered after the commit)."""
        words = announcement(number, counter.number, counter.name_en or None)
        speaks = self.voice is not None and VoiceCache.available()
        if speaks:
            voices.append(words)
        return {
            "counter_id": counter.id,
            "counter_number": counter.number,
            "counter_name_zh": counter.name_zh,
            "counter_name_en": counter.name_en or f"Counter {counter.number}",
            "voice_id": words.voice_id if speaks else None,
            "text_zh": words.zh,
            "text_en": words.en,
        }

    async def _render(self, voices: list[Any]) -> None:
        """Synthesise the calls' announcements (cached per phrase); a failure stays silent."""
        voice = self.voice
        if voice is None:
            return
        loop = asyncio.get_running_loop()
        for words in voices:
            try:
                await loop.run_in_executor(None, voice.render, words)
            except VoiceError as exc:
                log.warning("voice announcement unavailable: %s", exc)

    async def dashboard(self) -> DashboardView:
        """The queue dashboard for the lobby manager (read in a worker thread)."""

        def read() -> Dashboard:
            self.queue.refresh()
            return self.queue.dashboard()

        return DashboardView(await asyncio.get_running_loop().run_in_executor(None, read))

    async def targets(self) -> QueueTargets:
        """The services and counters a ticket may be transferred to, with their state now."""

        def read() -> QueueTargets:
            self.queue.refresh()
            engine = self.queue.engine
            waiting = {s.code: len(engine.waiting(s.code)) for s in self.config.services}
            serving = frozenset(c for c in self._counters if engine.current(c) is not None)
            return QueueTargets(self.config, waiting, engine.open_counters, serving)

        return await asyncio.get_running_loop().run_in_executor(None, read)
