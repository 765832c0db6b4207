"""Recognition by method: chip and stripe apart; visits stored as "pan" keep a key of their own."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from branch_hub.lobby.visits import Visit
from branch_hub.reports.queue_figures import QueueTally


def _visit(n: int, identified_by: str | None, walk_in: bool = False) -> Visit:
    return Visit(
        visit_id=f"V{n}",
        day="2026-12-01",
        ticket_id=f"T-{n}",
        station="K1",
        arrived_at="2026-12-01T09:00:00+08:00",
        walk_in=walk_in,
        customer_id=None if walk_in else f"C{n}",
        tier=None if walk_in else "mass",
        priority=False,
        identified_by=identified_by,
    )


def _by_method(*visits: Visit) -> dict[str, int]:
    tally = QueueTally(ZoneInfo("Asia/Shanghai"), {})
    tally.add_day([], visits)
    by_method: dict[str, int] = tally.figures()["recognition"]["by_method"]
    return by_method


def test_chip_and_stripe_count_apart_and_an_unknown_card_is_a_walk_in() -> None:
    counts = _by_method(
        _visit(1, "chip"),
        _visit(2, "stripe"),
        _visit(3, "stripe"),
        _visit(4, "passbook"),
        _visit(5, "id_number"),
        _visit(6, "chip", walk_in=True),
        _visit(7, None, walk_in=True),
    )
    assert counts == {"chip_card": 1, "stripe": 2, "passbook": 1, "id_card": 1, "walk_in": 2}


def test_a_visit_stored_before_chip_and_stripe_were_told_apart_is_not_guessed() -> None:
    counts = _by_method(_visit(1, "pan"), _visit(2, "chip"))
    assert counts["card"] == 1, "counted as a card of unknown kind"
    assert counts["chip_card"] == 1
    assert counts["stripe"] == 0
