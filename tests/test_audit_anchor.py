"""HQ holds the hub's audit head: a restored older log is caught by the real CLIs and by HQ."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from branch_hub.atrest import AtRestCipher
from branch_hub.outbox import Outbox, OutboxSender, load_or_create_signing_key
from branch_hub.provision.cli import main as provision
from branch_hub.provision.common import Branch
from branch_hub.security.hub import HubSecurity
from sync.anchor import AnchorStore
from tests.outbox_support import Hq, running

BRANCH = "SH-PD-0001"
ROOT = Path(__file__).resolve().parents[1]


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, env=env, timeout=60
    )


def _sender(branch: Branch, hq: Hq, outbox: Outbox) -> tuple[OutboxSender, HubSecurity]:
    key = load_or_create_signing_key(branch.data_dir / "outcome_signing.key")
    security = branch.security()
    sender = OutboxSender(
        outbox,
        collector_url=hq.url,
        ca_file=str(hq.ca),
        branch_id=BRANCH,
        signing_key=key,
        audit=security.audit,
    )
    return sender, security


def test_hq_anchor_catches_a_restored_older_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_database: str | None
) -> None:
    folder = tmp_path / "br"
    monkeypatch.setattr(sys, "stdin", io.StringIO("864213\n"))
    argv = ["init", "--dir", str(folder), "--branch-id", BRANCH, "--name", "示例浦东支行"]
    assert provision([*argv, "--region-code", "310115", "--pin-stdin"]) == 0
    branch = Branch.load(folder)
    load_or_create_signing_key(branch.data_dir / "outcome_signing.key")
    security = branch.security_dir
    shutil.copytree(security, tmp_path / "older")  # a copy of the whole folder, taken early
    hq = Hq(tmp_path, {BRANCH: branch.data_dir / "outcome_signing.pub"}, collector_database)
    outbox = Outbox(tmp_path / "hub.db", AtRestCipher(b"k" * 32), timezone="Asia/Shanghai")
    with running(hq):
        sender, hub = _sender(branch, hq, outbox)
        for n in range(4):
            hub.audit.record("login", staff_id=f"w{n}")
        hub.audit.flush()
        assert sender.anchor_audit(force=True)
        assert not sender.anchor_audit(force=True)  # nothing new: nothing sent
        hub.audit.record("logout", staff_id="w0")
        hub.audit.flush()
        assert sender.anchor_audit(force=True)  # continues the head HQ holds
        held = hub.audit.last_anchored()
        assert held is not None
        hub.close()
        sender.close()

        shutil.rmtree(security)
        shutil.copytree(tmp_path / "older", security)
        out = tmp_path / "anchor.json"
        got = _cli(
            "sync.cli", "audit-anchor", *hq.store_args, "--branch", BRANCH, "--out", str(out)
        )
        assert got.returncode == 0, got.stderr
        assert json.loads(out.read_text())["seq"] == held.seq

        alone = _cli("branch_hub.provision.cli", "audit", "verify", "--dir", str(folder))
        assert alone.returncode == 0, alone.stderr  # the older copy is whole in itself
        anchored = _cli(
            "branch_hub.provision.cli",
            "audit",
            "verify",
            "--dir",
            str(folder),
            "--anchor",
            str(out),
        )
        assert anchored.returncode == 6
        older = held.seq - 5
        assert f"rolled back: the log ends at {older} but HQ holds a head at {held.seq}" in (
            anchored.stderr
        )
        assert "日志被回滚" in anchored.stderr

        # The restored hub sends its (older) head: HQ refuses it (409) and keeps the alarm;
        # written on past HQ's seq, the log does not continue HQ's head: refused again.
        sender, hub = _sender(branch, hq, outbox)
        assert not sender.anchor_audit(force=True)
        for n in range(held.seq):
            hub.audit.record("login", staff_id=f"x{n}")
        hub.audit.flush()
        assert not sender.anchor_audit(force=True)
        hub.close()
        sender.close()
        forked = _cli(
            "branch_hub.provision.cli",
            "audit",
            "verify",
            "--dir",
            str(folder),
            "--anchor",
            str(out),
        )
        assert forked.returncode == 6
        assert f"entry {held.seq} differs from the head HQ holds" in forked.stderr
    outbox.close()
    store = AnchorStore(hq.store_target)
    assert store.alarms(BRANCH) == 2
    latest = store.latest(BRANCH)
    assert latest is not None
    assert latest["seq"] == held.seq
    store.close()
