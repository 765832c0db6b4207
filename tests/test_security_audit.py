"""The audit log: append-only, hash-chained; verify catches edited, deleted, reordered entries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branch_hub.context import RequestContext
from branch_hub.security import AuditError, AuditLog

FIELDS = ["at", "action", "device_id", "staff_id", "customer_id", "subject", "detail", "entry_id"]


def _filled(folder: Path, n: int = 6) -> AuditLog:
    log = AuditLog.open(folder)
    ctx = RequestContext("TAB1", "tablet", "w1", "wealth_manager")
    for i in range(n):
        log.record("brief_view", ctx=ctx, customer_id=f"C{i:04d}", subject=f"visit-{i}")
    log.flush()  # the writer thread appends; tamper only with what is written
    return log


def _raw(log: AuditLog) -> sqlite3.Connection:
    # An attacker with write access to the file drops the append-only triggers first.
    db = sqlite3.connect(log.db_path, isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    return db


def test_intact_log_verifies_and_records_who_what(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    assert log.verify() == 6
    first = next(log.entries())
    assert (first.device_id, first.staff_id, first.customer_id) == ("TAB1", "w1", "C0000")


def test_triggers_refuse_update_and_delete(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    db = sqlite3.connect(log.db_path, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET staff_id = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq = 1")


def test_edited_entry_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _raw(log).execute("UPDATE audit SET customer_id = 'C9999' WHERE seq = 3")
    with pytest.raises(AuditError, match="entry 3 was altered"):
        log.verify()


def test_deleted_entry_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _raw(log).execute("DELETE FROM audit WHERE seq = 2")
    with pytest.raises(AuditError, match="entry 2 is missing"):
        log.verify()


def test_deleted_and_renumbered_entries_are_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    db = _raw(log)
    db.execute("DELETE FROM audit WHERE seq = 2")
    db.execute("UPDATE audit SET seq = seq - 1 WHERE seq > 2")
    with pytest.raises(AuditError, match="altered"):
        log.verify()


def test_reordered_entries_are_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    db = _raw(log)
    # seq is the rowid, so reordering means swapping two entries' contents (macs included).
    two, three = (
        db.execute("SELECT * FROM audit WHERE seq = ?", (n,)).fetchone()[1:] for n in (2, 3)
    )
    db.execute("DELETE FROM audit WHERE seq IN (2, 3)")
    db.execute("INSERT INTO audit VALUES (2, ?, ?, ?, ?, ?, ?, ?, ?, ?)", three)
    db.execute("INSERT INTO audit VALUES (3, ?, ?, ?, ?, ?, ?, ?, ?, ?)", two)
    with pytest.raises(AuditError, match="entry 2"):
        log.verify()


def test_cut_off_tail_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path)
    _raw(log).execute("DELETE FROM audit WHERE seq >= 5")
    with pytest.raises(AuditError, match="removed from the end"):
        log.verify()


def test_only_ids_are_accepted(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    with pytest.raises(ValueError, match="must be an id"):
        log.record("brief_view", customer_id="张三")
    with pytest.raises(ValueError, match="must be an id"):
        log.record("brief_view", subject="6222 0210 0112 3456")
    with pytest.raises(ValueError, match="not a card or ID number"):
        log.record("brief_view", customer_id="621799648233483704")  # Luhn-valid PAN
    with pytest.raises(ValueError, match="not a card or ID number"):
        log.record("brief_view", subject="v-11010519810218682X")
    with pytest.raises(ValueError, match="unknown audit action"):
        log.record("coffee")
    assert log.verify() == 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seq=st.integers(1, 6),
    field=st.sampled_from(FIELDS),
    junk=st.text(min_size=1, max_size=8),
)
def test_any_single_field_change_is_detected(
    tmp_path_factory: pytest.TempPathFactory, seq: int, field: str, junk: str
) -> None:
    log = _filled(tmp_path_factory.mktemp("a"))
    db = _raw(log)
    before = db.execute(f"SELECT {field} FROM audit WHERE seq = ?", (seq,)).fetchone()[0]  # noqa: S608
    after = '{"x": 1}' if field == "detail" and before != '{"x": 1}' else (before or "") + junk
    db.execute(f"UPDATE audit SET {field} = ? WHERE seq = ?", (after, seq))  # noqa: S608
    with pytest.raises(AuditError):
        log.verify()


# A visit id the hub made before ids were given a letter: its 15-digit run passes Luhn.
OLD_VISIT_ID = "0d9988221142752b"


def test_id_fields_are_checked_by_format_not_by_the_card_detector(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    # Claiming such a visit failed (500) while the claim was saved: now it is an id like any.
    log.record("claim", staff_id="w1", customer_id="C0000000001", subject=f"visit:{OLD_VISIT_ID}")
    log.record("note", staff_id="w1", subject="note:" + "1234567890123456" * 2)
    log.record("claim", staff_id="w1", subject="ticket:20260105-A001")
    for bad in ("visit:0d99", "visit:0D9988221142752B", "ticket:2026-A1"):
        with pytest.raises(ValueError, match="must be an id"):
            log.record("claim", subject=bad)
    # Any other id may not hold 13 digits in a row, Luhn-valid or not: no id has that shape.
    with pytest.raises(ValueError, match="not a card or ID number"):
        log.record("claim", customer_id="C1234567890123")
    with pytest.raises(ValueError, match="not a card or ID number"):
        log.record("claim", staff_id="w1", detail={"lead_id": "6217996482334837"})
    log.record("outcome", staff_id="w1", detail={"lead_id": "L00000000011", "outcome": "accepted"})
    assert log.verify() == 4


def test_free_text_detail_is_searched_for_card_and_id_numbers(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    for text in ("paid with 621799648233483704", "id 11010519810218682X today"):
        with pytest.raises(ValueError, match="card or ID number"):
            log.record("note", staff_id="w1", detail={"text": text})
    # A long number that is neither (Luhn fails) is free text like any other.
    log.record("note", staff_id="w1", detail={"text": "ref 621799648233483705"})
    # A certificate serial is hex, checked by format: digit runs are fine there.
    log.record("server_cert_rotation", detail={"serial": "4111111111111111abc"})
    with pytest.raises(ValueError, match="hex"):
        log.record("server_cert_rotation", detail={"serial": "not hex"})
    with pytest.raises(ValueError, match="keys"):
        log.record("note", detail={"Free Text": "x"})
    with pytest.raises(TypeError, match="scalar"):
        log.record("note", detail={"items": [1, 2]})  # type: ignore[dict-item]
    assert log.verify() == 2
