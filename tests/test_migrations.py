"""Files made by older versions are brought up to the current schema once, by sqlite-utils'
migrations, also when the hub and branch-provision open them at the same moment."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from branch_hub.migrations import applied
from branch_hub.security.audit import MIGRATIONS as AUDIT_MIGRATIONS
from branch_hub.security.audit import AuditLog
from branch_hub.security.devices import MIGRATIONS as DEVICE_MIGRATIONS
from branch_hub.security.devices import DeviceRegistry

OLD_DEVICES = """
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY, kind TEXT NOT NULL, serial TEXT NOT NULL,
    fingerprint TEXT NOT NULL, not_after TEXT NOT NULL, enrolled_at REAL NOT NULL,
    revoked_at REAL
);
INSERT INTO devices VALUES ('TAB1', 'tablet', 'AB12', 'ff', '2027-01-01', 1.0, NULL);
"""


def _old_registry(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_DEVICES)
    sqlite3.connect(path).close()


def _columns(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_an_old_device_registry_gains_its_column_once(tmp_path: Path) -> None:
    path = tmp_path / "devices.db"
    _old_registry(path)
    registry = DeviceRegistry(path)
    assert registry.get("TAB1") is not None
    registry.close()
    assert "previous_serial" in _columns(path, "devices")
    DeviceRegistry(path).close()  # opening again applies nothing
    with sqlite3.connect(path) as conn:
        assert [name for name, _ in applied(conn, DEVICE_MIGRATIONS)] == ["devices.previous_serial"]


def test_a_new_registry_records_the_step_it_did_not_need(tmp_path: Path) -> None:
    path = tmp_path / "devices.db"
    DeviceRegistry(path).close()
    with sqlite3.connect(path) as conn:
        assert [name for name, _ in applied(conn, DEVICE_MIGRATIONS)] == ["devices.previous_serial"]


def _open_registry(path: str, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait(10)
    DeviceRegistry(Path(path)).close()


def test_two_processes_opening_an_old_file_at_once_both_succeed(tmp_path: Path) -> None:
    path = tmp_path / "devices.db"
    _old_registry(path)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_open_registry, args=(str(path), start)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0]
    with sqlite3.connect(path) as conn:
        assert len(applied(conn, DEVICE_MIGRATIONS)) == 1


def test_an_audit_log_records_its_step_and_verifies(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path)
    log.record("config_change", detail={"what": "before"})
    log.close()
    db = next(tmp_path.glob("*.db"))
    assert "entry_id" in _columns(db, "audit")
    log = AuditLog.open(tmp_path)
    assert log.verify() >= 1
    log.close()
    with sqlite3.connect(db) as conn:
        assert [name for name, _ in applied(conn, AUDIT_MIGRATIONS)] == ["audit.entry_id"]


def test_db_status_shows_counts_and_migrations_never_content(
    tmp_path: Path, script: Callable[[str], str]
) -> None:
    folder = tmp_path / "branch"
    init = subprocess.run(
        [script("branch-provision"), "init", "--dir", str(folder), "--branch-id", "B001",
         "--name", "测试支行", "--region-code", "110105", "--timezone", "Asia/Shanghai",
         "--admin-id", "it-admin-77", "--pin-stdin"],
        input="246813\n", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    done = subprocess.run(
        [script("branch-provision"), "db", "status", "--dir", str(folder), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = {entry["file"]: entry for entry in json.loads(done.stdout)}
    assert report["security/staff.db"]["tables"]["staff"] == 1
    assert "devices:devices.previous_serial" in report["security/devices.db"]["migrations"]
    assert "audit:audit.entry_id" in report["security/audit.db"]["migrations"]
    assert "it-admin-77" not in done.stdout  # counts only, never a row's content
