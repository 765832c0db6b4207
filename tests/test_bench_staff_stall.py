"""The staff-action stall bench runs, and no staff action waits for another process's audit lock."""

from __future__ import annotations

from bench.staff_stall import run


def test_staff_actions_never_wait_for_the_audit_lock() -> None:
    # 40 notes in 2 s of lock: if a note waited for the lock, the last answer would come after
    # the release (every entry is still chained, afterwards).
    result = run(actions=40, hold_s=2.0)
    assert result["all_answered_while_locked"] is True
    assert result["audit_entries_chained"] >= 40 + 40 + 10
