"""Identifying a walk-in's customer later, under random operation sequences (hypothesis).

The machine of tests/test_queue_properties.py with one more rule: a waiting ticket's customer
identifies (any tier). Every invariant of that machine must still hold: first-in first-out per
service and class (the identified ticket stands where it would have stood since its entry), the
aging cap for ordinary customers, nothing served twice, and replay rebuilds the same state.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from branch_hub.queue import EventKind, NotWaiting, QueueEvent, TicketState
from tests.test_queue_properties import ACTOR, QueueMachine


class IdentifyMachine(QueueMachine):
    """QueueMachine plus late identification of waiting tickets."""

    @rule(data=st.data(), tier=st.sampled_from([None, "mass", "basic", "wealth", "private"]))
    def identify(self, data: st.DataObject, tier: str | None) -> None:
        ticket = self.pick(data)
        if ticket is None:
            return
        before = self.engine.mutations
        try:
            outcome = self.engine.identify(ticket.id, ACTOR, tier=tier)
        except NotWaiting:
            assert ticket.state is not TicketState.WAITING or self.rolled()
            assert self.engine.mutations == before or self.rolled()
            return
        assert ticket.state is TicketState.WAITING
        self.absorb(outcome.events)
        new = outcome.ticket
        assert new is not None
        assert (new.number, new.entry_seq, new.issued_at) == (
            ticket.number,
            ticket.entry_seq,
            ticket.issued_at,
        )
        priority_tier = tier in ("wealth", "private")
        assert new.priority == (ticket.priority or priority_tier)

    @rule(count=st.integers(1, 4))
    def rush_then_identify_first(self, count: int) -> None:
        """Ordinary tickets wait; the oldest one's customer turns out to be a priority tier."""
        issued = [self.engine.issue("cash", ACTOR, tier="mass") for _ in range(count)]
        for outcome in issued:
            self.absorb(outcome.events)
        first = issued[0].ticket
        assert first is not None
        self.absorb(self.engine.identify(first.id, ACTOR, tier="private").events)


def test_identify_is_one_event_and_replays() -> None:
    """One `identified` event; replaying the log gives the same queue order."""
    machine = IdentifyMachine()
    engine = machine.engine
    events: list[QueueEvent] = []
    for tier in ("private", "mass", "mass"):
        events += engine.issue("cash", ACTOR, tier=tier).events
    walk_in = engine.tickets()[1]
    outcome = engine.identify(walk_in.id, ACTOR, tier="wealth")
    assert [e.kind for e in outcome.events] == [EventKind.IDENTIFIED]
    events += outcome.events
    assert [t.number for t in engine.waiting("cash") if t.priority] == [
        engine.tickets()[0].number,
        walk_in.number,
    ]
    replayed = type(engine)(machine.config, machine.clock, policy=engine.policy)
    replayed.replay(QueueEvent.from_json(e.to_json()) for e in events)
    assert replayed.tickets() == engine.tickets()
    assert replayed.waiting("cash") == engine.waiting("cash")
    engine.cancel(walk_in.id, ACTOR)
    with pytest.raises(NotWaiting):
        engine.identify(walk_in.id, ACTOR, tier="private")


IdentifyMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestIdentifyInvariants = IdentifyMachine.TestCase
