"""The wait range: learnt from past waits, "next" when about to be called, and the same words on
the kiosk, the printed ticket, the lobby display and the tablet's lobby board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_common.wait_words import wait_words
from branch_hub.client.models import LobbyBoard
from branch_hub.config import QueuePolicy
from branch_hub.queue import (
    ManualClock,
    QueueEngine,
    QueueStore,
    WaitRange,
    menu_estimates,
    waiting_snapshot,
)
from branch_hub.queue._calibration import (
    BANDS_MIN,
    HIGH_QUANTILE,
    LOW_QUANTILE,
    MIN_BAND_SAMPLES,
    NEXT_WITHIN_MIN,
    WaitCalibration,
)
from drivers.printer.ticket import TicketLayout
from kiosk.flow import ServiceOption
from kiosk.screens import _service_button
from tablet.board_words import board_text
from tablet.i18n import use_language
from tests.test_queue_config import queue_config
from tests.test_queue_estimate import KIOSK, STAFF, START, _busy_branch, operations, policies

raws = st.floats(0.0, 120.0, allow_nan=False)
waits = st.floats(0.0, 240.0, allow_nan=False)


@given(history=st.lists(st.tuples(raws, waits), max_size=300), raw=raws)
def test_bounds_are_ordered_and_never_negative(
    history: list[tuple[float, float]], raw: float
) -> None:
    calibration = WaitCalibration()
    for past_raw, waited in history:
        calibration.add(past_raw, waited)
    low, point, high = calibration.bounds(raw)
    assert 0.0 <= low <= point <= high


@given(ratios=st.lists(st.floats(0.2, 5.0), min_size=MIN_BAND_SAMPLES, max_size=200))
def test_a_band_with_history_holds_its_middle_eighty_percent(ratios: list[float]) -> None:
    raw = 10.0  # one band; ratios are taken against the raw point itself
    calibration = WaitCalibration()
    for ratio in ratios:
        calibration.add(raw, raw * ratio)
    low, _point, high = calibration.bounds(raw)
    inside = sum(1 for r in ratios if low - 0.01 <= raw * r <= high + 0.01)
    # linear-interpolated 10th and 90th percentiles: at least 80 % minus one sample each side
    assert inside >= (HIGH_QUANTILE - LOW_QUANTILE) * len(ratios) - 2


def test_a_band_learns_that_waits_run_long() -> None:
    calibration = WaitCalibration()
    cold = calibration.bounds(10.0)
    for _ in range(MIN_BAND_SAMPLES):
        calibration.add(10.0, 20.0)
    assert calibration.bounds(10.0) == (20.0, 20.0, 20.0)
    assert cold != calibration.bounds(10.0)
    assert calibration.band(10.0) != calibration.band(BANDS_MIN[-1] + 1)
    assert calibration.bounds(BANDS_MIN[-1] + 1) > (0.0, 0.0, 0.0)  # other bands stay cold


@given(
    ahead=st.integers(0, 30),
    low=st.floats(0, 60),
    span=st.floats(0, 30),
    is_next=st.booleans(),
)
def test_whole_minutes_say_next_only_for_next(
    ahead: int, low: float, span: float, is_next: bool
) -> None:
    shown = WaitRange(ahead, low, low + span, None, is_next).whole_minutes()
    assert (shown == (0, 0)) is is_next
    if not is_next:
        assert shown[1] >= 1
        assert shown[0] <= shown[1]
        assert wait_words(*shown) != wait_words(0, 0)


def test_next_is_said_in_both_languages() -> None:
    assert wait_words(0, 0) == "即将叫号"
    assert wait_words(0, 0, "en") == "next"
    assert wait_words(3, 8) == "约 3–8 分钟"
    assert wait_words(5, 5, "en") == "about 5 min"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, ops=st.lists(operations, max_size=40))
def test_next_only_with_nobody_ahead_and_a_short_range(
    policy: QueuePolicy, ops: list[tuple[Any, ...]]
) -> None:
    eng, _events = _busy_branch(policy, ops)
    for ticket in eng.waiting():
        estimate = eng.estimate(ticket.id)
        if estimate.next:
            assert estimate.ahead == 0
            assert estimate.high_min <= NEXT_WITHIN_MIN
        assert estimate.low_min <= estimate.mid_min <= estimate.high_min


def test_the_first_customer_at_a_free_counter_is_next() -> None:
    eng = QueueEngine(queue_config(), ManualClock(START))
    eng.open_counter("K1", STAFF)
    assert menu_estimates(eng)["cash"].next
    issued = eng.issue("cash", KIOSK).ticket
    assert issued is not None
    assert eng.estimate(issued.id).whole_minutes() == (0, 0)
    for _ in range(6):
        eng.issue("cash", KIOSK)
    assert not menu_estimates(eng)["cash"].next


def test_a_replayed_engine_promises_what_the_live_one_did() -> None:
    clock = ManualClock(START)
    eng = QueueEngine(queue_config(), clock)
    events = [*eng.open_counter("K1", STAFF).events, *eng.open_counter("K3", STAFF).events]
    for minute in range(120):
        events += eng.issue("cash" if minute % 3 else "account", KIOSK).events
        clock.advance(minutes=1)
        if minute % 2:
            events += eng.call_next("K1" if minute % 4 == 1 else "K3", STAFF).events
    fresh = QueueEngine(queue_config(), clock)
    fresh.replay(events)
    for ticket in eng.waiting():
        assert fresh.estimate(ticket.id) == eng.estimate(ticket.id)


def _menu_pair(queued: int, open_counter: bool) -> tuple[QueueEngine, tuple[int, int]]:
    """A branch with `queued` cash tickets waiting; the cash range its menu shows."""
    eng = QueueEngine(queue_config(), ManualClock(START))
    if open_counter:
        eng.open_counter("K1", STAFF)
    for _ in range(queued):
        eng.issue("cash", KIOSK)
    return eng, menu_estimates(eng)["cash"].whole_minutes()


def _renderings(eng: QueueEngine, pair: tuple[int, int]) -> dict[str, str]:
    """What the kiosk menu, the printed ticket, the display and the tablet show for one range."""
    kiosk = _service_button(ServiceOption("cash", "现金", "Cash", "A", 3, pair), "zh").sublabel
    ticket = TicketLayout("支行", "A001", "现金", 3, *pair, datetime(2026, 3, 14, tzinfo=UTC), "t")
    use_language("zh_CN")
    tablet = board_text(LobbyBoard.from_wire(_tablet_board("cash", pair)), datetime.now(UTC))
    return {
        "kiosk": kiosk,
        "ticket": "\n".join(ticket.chinese_lines()),
        "display": waiting_snapshot(eng)["wait_text"]["cash"]["zh_CN"],
        "tablet": tablet.services[0].text,
    }


@settings(max_examples=30, deadline=None)
@given(queued=st.integers(0, 12), open_counter=st.booleans())
def test_every_screen_and_the_ticket_say_the_same(queued: int, open_counter: bool) -> None:
    eng, pair = _menu_pair(queued, open_counter)
    words = wait_words(*pair)
    for where, text in _renderings(eng, pair).items():
        assert words in text, where
        if pair != (0, 0):
            assert wait_words(0, 0) not in text, where


def test_the_screens_say_next_for_the_next_customer() -> None:
    eng, pair = _menu_pair(0, open_counter=True)
    assert pair == (0, 0)
    assert all("即将叫号" in text for text in _renderings(eng, pair).values())


def _tablet_board(code: str, pair: tuple[int, int]) -> dict[str, Any]:
    return {
        "at": "2026-03-14T09:00:00+08:00",
        "waiting": {code: 3},
        "priority_waiting": {code: 0},
        "tiers": [],
        "unclaimed": [],
        "unclaimed_alert_s": 120.0,
        "counters": [],
        "counters_open": 0,
        "counters_idle": 0,
        "devices": [],
        "cache": {"age_s": 0.0, "stale": False, "sequence": 1},
        "hq": {"link": "off", "pending": 0, "oldest_pending_at": None, "last_sent_at": None},
        "alerts": [],
        "wait_min": {code: list(pair)},
    }


def test_a_reopened_store_keeps_what_the_range_learnt(tmp_path: Path) -> None:
    clock = ManualClock(START)
    path = tmp_path / "q.db"
    with QueueStore(path, queue_config(), clock, synchronous="NORMAL") as store:
        store.open_counter("K1", STAFF)
        for _ in range(MIN_BAND_SAMPLES + 15):  # yesterday: each waited 3 min behind one served
            store.issue("cash", KIOSK)
            clock.advance(minutes=3)
            store.call_next("K1", STAFF)
        clock.set(START + timedelta(days=1))
        _serve_one(store)
        live = menu_estimates(store)["cash"]
    # 3-minute services make the formula say 1.5 min (half a service); yesterday's customers
    # waited 3, and so the range says today
    assert live.mid_min == pytest.approx(3.0, abs=0.05)
    with QueueStore(path, queue_config(), clock, synchronous="NORMAL") as reopened:
        assert menu_estimates(reopened)["cash"] == live


def _serve_one(queue: QueueEngine | QueueStore) -> None:
    """Open K1 and call one cash ticket to it: the next cash customer waits behind it."""
    queue.open_counter("K1", STAFF)
    queue.issue("cash", KIOSK)
    queue.call_next("K1", STAFF)
