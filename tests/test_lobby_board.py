"""The lobby board's figures and alert rules: pure tallies checked against a plain recount."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.config import Tier
from branch_hub.config._branch import default_tiers
from branch_hub.lobby.board_alerts import due_alerts, tier_names
from branch_hub.lobby.board_figures import WALK_IN, Snapshot, counter_states, tally, targets
from branch_hub.lobby.visits import Visit
from branch_hub.queue import CounterView, Ticket, TicketState
from branch_hub.vocabulary import HubAlertKind

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
SERVICES = ("cash", "wealth", "card")
TIERS = default_tiers()
PRIORITY_TIERS = {t.code for t in TIERS if t.priority}


def _ticket(n: int, service: str, state: TicketState, waited_s: float, priority: bool) -> Ticket:
    at = NOW - timedelta(seconds=waited_s)
    return Ticket(
        id=f"20261122-A{n:03d}",
        number=f"A{n:03d}",
        day=date(2026, 11, 22),
        services=(service,),
        step=0,
        priority=priority,
        appointment=False,
        visit_ref=f"v{n:015d}",
        state=state,
        issued_at=at,
        entered_at=at,
        entry_seq=n,
    )


def _visit(ticket: Ticket, tier: str | None) -> Visit:
    return Visit(
        visit_id=ticket.visit_ref,
        day="2026-11-22",
        ticket_id=ticket.id,
        station="K1",
        arrived_at=ticket.issued_at.isoformat(),
        walk_in=tier is None,
        customer_id=None if tier is None else f"C{ticket.entry_seq}",
        tier=tier,
        priority=tier in PRIORITY_TIERS,
        identified_by=None if tier is None else "pan",
    )


CUSTOMER = st.tuples(
    st.sampled_from(SERVICES),
    st.sampled_from(list(TicketState)),
    st.integers(0, 3600).map(float),  # whole seconds: the board rounds to tenths
    st.sampled_from([None, *(t.code for t in TIERS)]),
    st.booleans(),  # claimed
)


def _snapshot(customers: list[tuple[str, TicketState, float, str | None, bool]]) -> Snapshot:
    tickets, visits, claimed = [], {}, set()
    for n, (service, state, waited, tier, is_claimed) in enumerate(customers, start=1):
        ticket = _ticket(n, service, state, waited, tier in PRIORITY_TIERS)
        tickets.append(ticket)
        visits[ticket.id] = _visit(ticket, tier)
        if is_claimed:
            claimed.add(ticket.visit_ref)
    return Snapshot(NOW, tickets, visits, frozenset(claimed))


@settings(max_examples=150, deadline=None)
@given(st.lists(CUSTOMER, max_size=30), st.floats(1, 600, allow_nan=False))
def test_the_board_recounts_every_waiting_customer_once(
    customers: list[tuple[str, TicketState, float, str | None, bool]], alert_s: float
) -> None:
    figures = tally(_snapshot(customers), SERVICES, TIERS, alert_s)
    waiting = [c for c in customers if c[1] is TicketState.WAITING]
    assert sum(figures.services.values()) == len(waiting)
    assert sum(line.waiting for line in figures.tiers) == len(waiting)
    goals = targets(TIERS)
    for line in figures.tiers:
        mine = [c for c in waiting if (c[3] or WALK_IN) == line.tier]
        assert line.target_s == goals[line.tier]
        assert line.over_target == sum(1 for c in mine if round(c[2], 1) > line.target_s)
        assert line.longest_wait_s == max((round(c[2], 1) for c in mine), default=0.0)
    expected = [c for c in waiting if c[3] in PRIORITY_TIERS and not c[4]]
    assert len(figures.unclaimed) == len(expected)
    assert all(u.alert == (u.waited_s >= alert_s) for u in figures.unclaimed)
    waits = [u.waited_s for u in figures.unclaimed]
    assert waits == sorted(waits, reverse=True)

    due = due_alerts(figures, alert_s, tier_names(TIERS))
    unclaimed_keys = {k for k, a in due.items() if a.kind is HubAlertKind.PRIORITY_UNCLAIMED}
    assert len(unclaimed_keys) == sum(1 for u in figures.unclaimed if u.alert)
    over_keys = {k for k, a in due.items() if a.kind is HubAlertKind.WAIT_OVER_TARGET}
    assert over_keys == {f"wait_over_target:{t.tier}" for t in figures.tiers if t.over_target}


def test_alerts_name_the_ticket_and_tier_never_the_customer() -> None:
    vip = _ticket(7, "cash", TicketState.WAITING, 700, True)
    snap = Snapshot(NOW, [vip], {vip.id: _visit(vip, "wealth")}, frozenset())
    due = due_alerts(tally(snap, SERVICES, TIERS, 120), 120, tier_names(TIERS))
    assert set(due) == {f"priority_unclaimed:{vip.id}", "wait_over_target:wealth"}
    unclaimed = due[f"priority_unclaimed:{vip.id}"]
    assert unclaimed.message_zh == "贵宾 A007（财富客户）已等候超过2分钟，尚无人接待。"
    assert "C7" not in unclaimed.message + unclaimed.message_zh  # no customer id
    assert due["wait_over_target:wealth"].message_zh == "财富客户等候已超过目标时长10分钟。"


def test_walk_ins_are_held_to_the_lowest_tiers_target() -> None:
    tiers = [
        Tier(code="top", name_zh="顶级", name_en="Top", min_aum_cny=100, wait_target_s=60),
        Tier(code="base", name_zh="基础", name_en="Base", min_aum_cny=0, wait_target_s=900),
    ]
    assert targets(tiers) == {"top": 60, "base": 900, WALK_IN: 900}


def test_counters_are_open_or_closed_idle_or_serving() -> None:
    serving = _ticket(1, "cash", TicketState.CALLED, 30, False)
    views = [
        CounterView("C2", 2, True, None, 0),
        CounterView("C1", 1, True, serving, 0),
        CounterView("C3", 3, False, None, 0),
    ]
    states = counter_states(views)
    assert [(c.number, c.open, c.idle, c.serving) for c in states] == [
        (1, True, False, "A001"),
        (2, True, True, None),
        (3, False, False, None),
    ]
