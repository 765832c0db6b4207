"""The audit log's signed head and HQ's anchors: truncation, forgery, emptying and rollback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from branch_hub.security.audit import AuditLog
from branch_hub.security.audit_head import Head
from branch_hub.security.errors import (
    AuditAnchorInvalid,
    AuditHeadForged,
    AuditRolledBack,
    AuditTruncated,
    AuditUnprovable,
)
from sync.anchor import AnchorStore


def _log_with(folder: Path, entries: int) -> AuditLog:
    log = AuditLog.open(folder)
    for n in range(entries):
        log.record("login", staff_id=f"w{n}")
    log.flush()
    return log


def _cut_after(folder: Path, seq: int) -> str:
    """Delete every entry after `seq` past the triggers (write access to the disk); its MAC."""
    db = sqlite3.connect(folder / "audit.db", isolation_level=None)
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE seq > ?", (seq,))
    row = db.execute("SELECT mac FROM audit WHERE seq = ?", (seq,)).fetchone()
    db.close()
    return str(row[0]) if row else "0" * 64


def test_a_legitimate_log_verifies_with_a_signed_head(tmp_path: Path) -> None:
    log = _log_with(tmp_path, 3)
    assert log.verify() == 3
    head = json.loads((tmp_path / "audit.head").read_text())
    assert head["seq"] == 3
    assert head["chain_mac"] == list(log.entries())[-1].mac
    assert (tmp_path / "audit-head.key").stat().st_mode & 0o777 == 0o600
    log.close()
    fresh = AuditLog.open(tmp_path / "new")  # a new log is provably empty from the start
    assert fresh.verify() == 0
    fresh.close()


def test_a_cut_tail_with_a_rewritten_head_is_caught_without_the_key(tmp_path: Path) -> None:
    _log_with(tmp_path, 5).close()
    mac = _cut_after(tmp_path, 3)
    log = AuditLog.open(tmp_path)
    with pytest.raises(AuditTruncated, match="ends at entry 3 but its signed head records entry 5"):
        log.verify()
    log.close()
    # The attacker rewrites the head to match, in the old format and in the new one with a
    # key of their own: neither verifies.
    (tmp_path / "audit.head").write_text(f"3 {mac}\n")
    log = AuditLog.open(tmp_path)
    with pytest.raises(AuditHeadForged, match="not a signed head"):
        log.verify()
    log.close()
    forged = Head(3, mac, "2026-03-02T09:00:00.000+00:00", "")
    forged = Head(3, mac, forged.at, hmac.new(os.urandom(32), forged.body(), "sha256").hexdigest())
    (tmp_path / "audit.head").write_text(json.dumps(forged.to_json()))
    log = AuditLog.open(tmp_path)
    with pytest.raises(AuditHeadForged, match="forged"):
        log.verify()
    log.close()


def test_writing_on_after_a_cut_does_not_hide_it(tmp_path: Path) -> None:
    _log_with(tmp_path, 5).close()
    _cut_after(tmp_path, 3)
    log = _log_with(tmp_path, 4)  # the hub keeps recording: entries 4..7, past the head's 5
    with pytest.raises(AuditTruncated, match="entry 5 differs"):
        log.verify()
    assert log.anchor() is None  # an untrusted head is never sent to HQ
    log.close()


def test_an_emptied_log_is_never_ok(tmp_path: Path) -> None:
    _log_with(tmp_path, 2).close()
    _cut_after(tmp_path, 0)
    log = AuditLog.open(tmp_path)
    with pytest.raises(AuditTruncated, match="ends at entry 0"):
        log.verify()
    log.close()
    for name in ("audit.db", "audit.db-wal", "audit.db-shm", "audit.head"):
        (tmp_path / name).unlink(missing_ok=True)
    log = AuditLog.open(tmp_path)
    with pytest.raises(AuditUnprovable, match="empty and has no head: cannot prove"):
        log.verify()
    log.record("login", staff_id="w1")  # the hub records on; the missing head stays reported
    with pytest.raises(AuditUnprovable):
        log.verify()
    log.close()


def test_a_restored_older_copy_is_caught_by_hqs_anchor(tmp_path: Path) -> None:
    live, backup = tmp_path / "live", tmp_path / "backup"
    _log_with(live, 3).close()
    shutil.copytree(live, backup)
    log = _log_with(live, 3)
    anchor = log.anchor()
    assert anchor is not None
    assert anchor.seq == 6
    log.close()
    for name in ("audit.db", "audit.head"):
        shutil.copy(backup / name, live / name)
    log = AuditLog.open(live)
    assert log.verify() == 3  # alone, an older copy with its own signed head looks whole
    with pytest.raises(AuditRolledBack, match="the log ends at 3 but HQ holds a head at 6"):
        log.verify([anchor])
    log.anchored(anchor)  # the last anchor HQ acknowledged is also kept locally
    with pytest.raises(AuditRolledBack):
        log.verify()
    log.close()
    log = _log_with(live, 5)  # written on past HQ's head: entry 6 is another one now
    with pytest.raises(AuditRolledBack, match="entry 6 differs from the head HQ holds"):
        log.verify([anchor])
    bogus = Head(anchor.seq, anchor.chain_mac, anchor.at, hashlib.sha256(b"x").hexdigest())
    with pytest.raises(AuditAnchorInvalid):
        log.verify([bogus])
    log.close()


_CRASH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from branch_hub.security.audit import AuditLog

    log = AuditLog.open(Path(sys.argv[1]))
    for n in range(3):
        log.record("login", staff_id=f"w{n}")
    log.flush()

    def killed_here(seq, mac):
        print("committed", seq, flush=True)
        time.sleep(60)

    log.heads.write = killed_here
    log.record("logout", staff_id="w0")
    time.sleep(60)
    """
)


def test_kill_9_between_commit_and_head_write_is_no_alarm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CRASH, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    assert child.stdout.readline().split() == ["committed", "4"]
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert json.loads((tmp_path / "audit.head").read_text())["seq"] == 3  # one commit behind
    log = AuditLog.open(tmp_path)
    assert log.verify() == 4
    assert json.loads((tmp_path / "audit.head").read_text())["seq"] == 4  # repaired on open
    log.close()


def test_verify_while_another_writer_appends_raises_no_false_alarm(tmp_path: Path) -> None:
    hub, provision = _log_with(tmp_path, 1), AuditLog.open(tmp_path)
    done = threading.Event()

    def record() -> None:
        for n in range(300):
            hub.record("login", staff_id=f"w{n}")
            if n % 10 == 0:
                hub.flush()
        hub.flush()
        done.set()

    writer = threading.Thread(target=record)
    writer.start()
    checks = 0
    while not done.is_set() or checks < 3:
        provision.record("export", subject="audit")  # both write heads, racing each other
        assert provision.verify() >= 1
        checks += 1
    writer.join()
    assert provision.verify() == hub.verify() == 301 + checks
    hub.close()
    provision.close()


def test_hq_keeps_every_anchor_and_flags_one_going_backwards(tmp_path: Path) -> None:
    store = AnchorStore(tmp_path / "collector.db")
    at = "2026-03-02T09:00:00.000+00:00"

    def anchor(seq: int, chain: str, prev: tuple[int, str] | None = None) -> dict[str, object]:
        return {"branch_id": "B001", "seq": seq, "chain_mac": chain * 64, "at": at,
                "head_mac": "f" * 64, "prev_seq": prev[0] if prev else None,
                "prev_chain_mac": prev[1] * 64 if prev else None}  # fmt: skip

    assert store.receive(anchor(5, "a")) == "new"
    assert store.receive(anchor(5, "a")) == "same"
    assert store.receive(anchor(9, "b", (5, "a"))) == "new"
    assert store.receive(anchor(4, "c")) == "rolled_back"
    assert store.receive(anchor(9, "d", (5, "a"))) == "forked"
    assert store.receive(anchor(12, "e", (9, "d"))) == "forked"  # not the chain HQ holds
    assert store.receive(anchor(12, "e")) == "forked"
    latest = store.latest("B001")
    assert latest is not None
    assert (latest["seq"], latest["chain_mac"]) == (9, "b" * 64)
    assert store.alarms("B001") == 4
    assert store.latest("B002") is None
    store.close()


def test_a_hub_whose_head_does_not_verify_alerts_its_staff(tmp_path: Path) -> None:
    from tests.support.hubkit import served_hub
    from tests.support.lobbyenv import branch_config
    from tests.support.tlsenv import make_tls_env

    tls = make_tls_env(tmp_path / "pki")

    async def run_once(check: bool) -> list[str]:
        async with served_hub(branch_config(), tmp_path / "hub", tls) as (hub, _url):
            hub.security.audit.record("config_change", detail={"what": "test"})
            for _ in range(100):  # the watch runs at start, then every 5 s
                if not check or hub.alerts.active():
                    break
                await asyncio.sleep(0.05)
            return [a.key for a in hub.alerts.active()]

    assert "audit_doubted" not in asyncio.run(run_once(check=False))
    heads = list((tmp_path / "hub").rglob("audit.head"))
    assert len(heads) == 1
    heads[0].write_text("1 " + "0" * 64 + "\n")  # an unsigned head written by someone else
    assert "audit_doubted" in asyncio.run(run_once(check=True))
