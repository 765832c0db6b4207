"""Push history on real SQLite: today's board from today's events only, pruning whole old days."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.board import CallBoard
from branch_hub.config import RetentionSettings, load_config
from branch_hub.outbox import Outbox
from branch_hub.push import EventLog
from branch_hub.retention import Pruner, business_date, business_day_start, today_start
from tests.support.devices import enrolled_device
from tests.support.hubkit import provision

ZONE = "Asia/Shanghai"
KEY = b"k" * 32
# 2026-03-10 10:00 in Shanghai; its business day started at 2026-03-09 16:00 UTC.
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


class CountingCipher(AtRestCipher):
    """The real cipher, counting how many sealed payloads were opened."""

    opened = 0

    def open(self, blob: bytes, aad: bytes) -> bytes:
        self.opened += 1
        return super().open(blob, aad)


def _call(ticket: str, counter: int = 1) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "service": "cash",
        "counter_id": f"C{counter}",
        "counter_number": counter,
    }


def _fill_days(log: EventLog, days: int, per_day: int, end: datetime = NOW) -> None:
    """Log `per_day` events (every third a call) on each of `days` days up to `end`."""
    for d in range(days, -1, -1):
        for i in range(per_day):
            at = end - timedelta(days=d, minutes=per_day - i)
            kind = "called" if i % 3 == 0 else "ticket_updated"
            log.append(kind, _call(f"A{d:03d}{i:03d}"), now=at)


def test_business_day_starts_at_local_midnight() -> None:
    assert today_start(ZONE, NOW) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    assert business_date(ZONE, datetime(2026, 3, 9, 15, 59, tzinfo=UTC)) == date(2026, 3, 9)
    assert business_date(ZONE, datetime(2026, 3, 9, 16, 0, tzinfo=UTC)) == date(2026, 3, 10)
    # A day in a zone with a clock change is 23 hours long, and still starts at its midnight.
    spring = business_day_start("Europe/London", date(2026, 3, 29))
    assert business_day_start("Europe/London", date(2026, 3, 30)) - spring == timedelta(hours=23)


def test_board_rebuild_reads_only_todays_calls(tmp_path: Path) -> None:
    cipher = CountingCipher(KEY)
    log = EventLog(tmp_path / "hub.db", cipher)
    _fill_days(log, days=30, per_day=60)
    log.append("called", _call("B001", 2), now=NOW)
    log.append("recalled", _call("B001", 3), now=NOW + timedelta(seconds=5))
    cipher.opened = 0
    board = CallBoard()
    board.rebuild(log, today_start(ZONE, NOW))
    calls = board.calls()
    assert cipher.opened < 30  # not 1,860 events replayed
    assert [c["ticket"] for c in calls][:2] == ["B001", "A000057"]
    assert calls[0]["counter_number"] == 3  # the recall, not the first call
    assert all(c["ticket"].startswith(("B", "A000")) for c in calls)  # nothing from yesterday
    assert len(calls) == 8
    log.close()


def test_board_rebuild_on_a_quiet_day_is_empty(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(KEY))
    _fill_days(log, days=3, per_day=5, end=NOW - timedelta(days=1))
    board = CallBoard()
    board.apply(log.append("called", _call("Z999"), now=NOW - timedelta(days=1)))
    board.rebuild(log, today_start(ZONE, NOW))
    assert board.calls() == []
    log.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["called", "recalled", "finished"]), st.integers(0, 12)),
        max_size=60,
    ),
    st.integers(1, 10),
)
def test_rebuild_shows_what_a_hub_that_never_stopped_shows(
    tmp_path_factory: pytest.TempPathFactory, events: list[tuple[str, int]], size: int
) -> None:
    log = EventLog(tmp_path_factory.mktemp("board") / "hub.db", AtRestCipher(KEY))
    live = CallBoard(size)
    for i, (kind, ticket) in enumerate(events):
        live.apply(log.append(kind, _call(f"A{ticket:03d}", i), now=NOW + timedelta(seconds=i)))
    restarted = CallBoard(size)
    restarted.rebuild(log, today_start(ZONE, NOW))
    assert restarted.calls() == live.calls()
    log.close()


def test_prune_deletes_whole_old_days_and_keeps_one_unbroken_run(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(KEY))
    _fill_days(log, days=10, per_day=20)
    first, last = log.bounds()
    assert (first, last) == (1, 220)
    cut = business_day_start(ZONE, business_date(ZONE, NOW) - timedelta(days=3))
    deleted = log.prune(cut, batch=7)
    kept = list(log.iter_since(0))
    assert deleted == 220 - len(kept)
    assert all(e.at >= cut.isoformat(timespec="milliseconds") for e in kept)
    assert [e.seq for e in kept] == list(range(log.first_seq(), last + 1))
    # Exactly the days on or after the cut remain: none of an older day, all of a newer one.
    days = {business_date(ZONE, datetime.fromisoformat(e.at)) for e in kept}
    assert min(days) == business_date(ZONE, cut)
    assert len(kept) == 4 * 20
    assert log.prune(cut) == 0  # nothing more to do
    log.close()


def test_prune_never_deletes_the_newest_event_so_numbering_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    log = EventLog(path, AtRestCipher(KEY))
    _fill_days(log, days=2, per_day=10, end=NOW - timedelta(days=20))
    assert log.prune(NOW + timedelta(days=1), batch=4) == 29
    assert log.bounds() == (30, 30)
    log.close()
    reopened = EventLog(path, AtRestCipher(KEY))  # after a restart as well
    assert reopened.append("called", _call("A001"), now=NOW).seq == 31
    assert reopened.first_seq() == 30
    reopened.close()


def test_prune_stops_between_batches_when_told(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(KEY))
    _fill_days(log, days=4, per_day=25, end=NOW - timedelta(days=10))
    rounds = iter([True, True, False])
    assert log.prune(NOW, batch=10, keep_going=lambda: next(rounds)) == 20
    assert log.first_seq() == 21
    log.close()


def test_prune_refuses_a_cut_without_a_time_zone(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(KEY))
    with pytest.raises(ValueError, match="time zone"):
        log.prune(datetime(2026, 3, 1))  # naive: the point of the test
    log.close()


def test_day_lookup_reads_only_the_day_not_the_history(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(KEY))
    _fill_days(log, days=200, per_day=50)
    steps: list[int] = []

    def count() -> int:
        steps.append(1)
        return 0

    log._db.set_progress_handler(count, 100)  # called every 100 virtual-machine steps
    first = log.first_seq_at(today_start(ZONE, NOW))
    log._db.set_progress_handler(None, 0)
    assert first == 200 * 50 + 1
    assert len(steps) < 40  # ~50 index entries, not 10,000 rows
    log.close()


def _outcome(i: int, day: str) -> dict[str, object]:
    at = f"{day}T02:00:00+00:00"
    return {
        "customer_id": "C1",
        "lead_id": f"L{i}",
        "outcome": "accepted",
        "staff_id": "S1",
        "at": at,
    }


def test_pruner_round_prunes_push_and_delivered_outcomes(tmp_path: Path) -> None:
    cipher = AtRestCipher(KEY)
    log = EventLog(tmp_path / "hub.db", cipher)
    box = Outbox(tmp_path / "hub.db", cipher, timezone=ZONE, clock=lambda: NOW)
    _fill_days(log, days=12, per_day=3)
    for i, day in enumerate(["2026-01-05", "2026-03-01", "2026-03-09"]):
        box.enqueue("lead_outcome", _outcome(i, day), f"K{i}")
        box.mark_sent(i + 1)
        box.mark_batch(day, 1, "0" * 64)
    box.enqueue("lead_outcome", _outcome(9, "2026-01-04"), "pending-old")  # never delivered
    box.enqueue("lead_outcome", _outcome(8, "2026-03-02"), "refused")
    box.mark_rejected(5, "HTTP 403")
    rules = RetentionSettings(push_days=7, outbox_sent_days=30)
    pruner = Pruner(log, box, rules, ZONE, clock=lambda: NOW)
    done = pruner.prune_now()
    assert (done.push_events, done.outbox_sent, done.outbox_requeued) == (15, 1, 1)
    assert business_date(ZONE, datetime.fromisoformat(log.since(0, 1)[0].at)) == date(2026, 3, 3)
    stats = box.stats()
    assert (stats["pending"], stats["sent"]) == (2, 2)
    box.mark_rejected(5, "HTTP 403")
    again = pruner.prune_now()  # the same business day: refused ones wait for tomorrow
    assert (again.push_events, again.outbox_sent, again.outbox_requeued) == (0, 0, 0)
    box.close()
    log.close()


def test_pruner_runs_on_schedule_until_stopped(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(KEY))
    _fill_days(log, days=10, per_day=2)
    rules = RetentionSettings(push_days=1, prune_interval_s=60)
    pruner = Pruner(log, None, rules, ZONE, clock=lambda: NOW, first_delay_s=0.01)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(pruner.run(stop))
        for _ in range(500):
            if log.first_seq() > 1:
                break
            await asyncio.sleep(0.01)
        stop.set()
        async with asyncio.timeout(5):
            await task

    asyncio.run(scenario())
    assert log.first_seq() == 9 * 2 + 1  # the nine days before yesterday are gone
    log.close()


def test_restarted_hub_shows_todays_calls_only(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
    data = tmp_path / "var"
    provision(data)
    log = EventLog(data / "hub.db", AtRestCipher(load_or_create_key(data / "atrest.key")))
    now = datetime.now(UTC)
    zone = load_config(config).branch.timezone
    log.append("called", _call("Y001"), now=today_start(zone, now) - timedelta(minutes=5))
    log.append("called", _call("T001"), now=now)
    log.append("recalled", _call("T001", 4), now=now)
    log.close()
    proc = subprocess.Popen(
        [script("branch-hub"), "--config", str(config), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("branch-hub: listening on https://"), line
        cert = enrolled_device(data, "TAB1")
        board = requests.get(
            f"{line.split()[-1]}/api/v1/board",
            verify=str(data / "pki" / "ca.crt"),
            cert=cert,
            timeout=10,
        ).json()
        assert [(c["ticket"], c["counter_number"]) for c in board["calls"]] == [("T001", 4)]
        assert board["last_seq"] >= 3  # the lobby may log device alerts at start
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
