"""A business day with HQ unreachable and the outbox process killed and restarted, then HQ back.

Real processes: the hub-side outbox (`python -m tests.support.outbox_process`) and HQ's collector
(`branch-sync collector`, on its SQLite file and on a throwaway PostgreSQL server), TLS on
loopback. The outbox process is killed with SIGKILL while
queuing, stopped with SIGTERM while HQ is down, and dies like SIGKILL while sending, right
between HQ's acknowledgement and its own commit (the window that makes a resend necessary).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.outbox_support import Child, Hq

DAY = "2026-03-02"
EVENTS = 1200


def _outbox_args(
    tmp: Path, hq: Hq, first: int = 0, *, wait_batch: bool = False, crash_after_ack: int = 0
) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "tests.support.outbox_process",
        "--db",
        str(tmp / "hub.db"),
        "--atrest-key",
        str(tmp / "atrest.key"),
        "--signing-key",
        str(tmp / "outcome_signing.key"),
        "--branch-id",
        "B001",
        "--day",
        DAY,
        "--first",
        str(first),
        "--events",
        str(EVENTS),
        "--collector",
        hq.url,
        "--ca",
        str(hq.ca),
        "--batch-dir",
        str(tmp / "batches"),
        "--backoff-base",
        "0.02",
        "--backoff-cap",
        "0.3",
    ]
    if crash_after_ack:  # the same process, dying right after HQ's N-th acknowledgement
        args += ["--crash-after-ack", str(crash_after_ack)]
    return [*args, "--wait-batch"] if wait_batch else args


def _received(hq: Hq) -> int:
    return int(requests.get(f"{hq.url}/v1/health", verify=str(hq.ca), timeout=5).json()["events"])


def test_unreachable_day_restarts_then_exactly_once(
    tmp_path: Path, collector_database: str | None
) -> None:
    # The hub's outcome key exists before HQ registers it (branch IT sends the .pub to HQ).
    subprocess.run(
        [*_outbox_args(tmp_path, Hq(tmp_path / "none", {}))[:11], "--events", "0"],
        check=True,
        timeout=60,
    )
    hq = Hq(tmp_path, {"B001": tmp_path / "outcome_signing.pub"}, collector_database)

    # 1. HQ unreachable. The hub queues the morning and is killed -9 in the middle.
    a = Child(_outbox_args(tmp_path, hq))
    a.wait_for("queued 400")
    a.kill()

    # 2. Restart 1: staff apps retry what was not acknowledged (same idempotency keys);
    #    the rest of the day is queued; HQ is still down; orderly stop (SIGTERM).
    b = Child(_outbox_args(tmp_path, hq))
    b.wait_for("all queued")
    time.sleep(0.5)  # a few failed rounds with backoff
    assert b.stop() == 0

    # 3. HQ comes back. Restart 2 sends and dies like kill -9 right after HQ acknowledged its
    #    300th event but before recording that: HQ has it, the outbox still has it pending.
    hq.start()
    try:
        c = Child(_outbox_args(tmp_path, hq, first=EVENTS, crash_after_ack=300))
        assert c.proc.wait(120) == 137
        sent_before_restart = _received(hq)
        assert 300 <= sent_before_restart < EVENTS

        # 4. Restart 3 drains the rest and uploads the day's signed batch.
        d = Child(_outbox_args(tmp_path, hq, first=EVENTS, wait_batch=True))
        d.wait_for("drained", timeout=120)
        assert d.stop() == 0

        health = requests.get(f"{hq.url}/v1/health", verify=str(hq.ca), timeout=5).json()
        assert health["events"] == EVENTS  # every event stored exactly once
        assert health["conflicts"] == 0
        report = requests.get(
            f"{hq.url}/v1/reconciliation",
            params={"branch": "B001", "day": DAY},
            verify=str(hq.ca),
            timeout=5,
        ).json()
        assert report["batch_received"] is True
        assert report["live"] == EVENTS
        assert report["in_batch"] == EVENTS
        assert report["missing"] == []
        assert report["duplicate"] == []
        assert report["mismatched"] == []
        assert report["unexpected"] == []
        assert report["ok"] is True
        assert report["redeliveries"] >= 1  # the event acknowledged before the crash came twice
        assert health["deliveries"] == EVENTS + report["redeliveries"]
        print(
            json.dumps(
                {
                    "events": EVENTS,
                    "deliveries": health["deliveries"],
                    "redeliveries": report["redeliveries"],
                }
            )
        )
    finally:
        hq.stop()

    # The CLI gives the same answer from HQ's database.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sync.cli",
            "reconcile",
            *hq.store_args,
            "--branch",
            "B001",
            "--day",
            DAY,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ok"] is True
    # The batch on the hub is the signed file HQ verified.
    assert (tmp_path / "batches" / f"B001-{DAY}.jsonl").read_text().count("\n") == EVENTS
