"""The resume rule: replay when nothing after `since` is missing, otherwise tell the client to reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from branch_hub.atrest import AtRestCipher
from branch_hub.push import EventLog
from branch_hub.resume import Replay, Resync, ResyncReason, resume_plan


@st.composite
def logs(draw: st.DrawFn) -> tuple[int, int]:
    """A kept run first..last of sequence numbers, or the empty log (0, 0)."""
    last = draw(st.integers(0, 10_000))
    if last == 0:
        return 0, 0
    return draw(st.integers(1, last)), last


@given(logs(), st.integers(0, 10_100))
def test_replay_exactly_when_it_leaves_no_gap(log: tuple[int, int], since: int) -> None:
    first, last = log
    plan = resume_plan(since, first, last)
    kept = set(range(first, last + 1)) if last else set()
    wanted = set(range(since + 1, last + 1))
    if isinstance(plan, Replay):
        assert plan.after == since
        assert wanted <= kept  # every event the client lacks can be sent
    else:
        assert plan.last_seq == last
        assert since > last or not wanted <= kept
        expected = ResyncReason.UNKNOWN_SEQ if since > last else ResyncReason.PRUNED
        assert plan.reason == expected


@given(logs())
def test_a_client_that_resyncs_to_last_seq_can_then_replay(log: tuple[int, int]) -> None:
    first, last = log
    for since in (0, first - 1, last, last + 1):
        plan = resume_plan(max(since, 0), first, last)
        if isinstance(plan, Resync):
            assert resume_plan(plan.last_seq, first, last) == Replay(last)


def test_resync_on_the_wire() -> None:
    plan = resume_plan(3, 10, 20)
    assert isinstance(plan, Resync)
    assert plan.to_wire() == {"type": "resync", "reason": "pruned", "last_seq": 20}
    assert resume_plan(9, 10, 20) == Replay(9)
    assert resume_plan(21, 10, 20) == Resync(ResyncReason.UNKNOWN_SEQ, 20)


def test_rule_against_a_pruned_log(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "hub.db", AtRestCipher(b"r" * 32))
    start = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    for i in range(30):
        log.append("called", {"ticket": f"A{i:03d}"}, now=start + timedelta(seconds=i))
    assert log.prune(start + timedelta(seconds=10)) == 10
    first, last = log.bounds()
    assert (first, last) == (11, 30)
    for since in range(35):
        plan = resume_plan(since, first, last)
        if isinstance(plan, Replay):
            replayed = [e.seq for e in log.since(plan.after, 100)]
            assert replayed == list(range(since + 1, last + 1))
        else:
            assert since < first - 1 or since > last
    log.close()
