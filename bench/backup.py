"""Backup and restore figures: a provisioned branch whose hub.db holds N tickets and N outbox
events (sealed), backed up and restored with `branch-provision`; against a plain uncompressed
tar of the same folders (no encryption, no online backup, no checks) made in the same run.

`python -m bench.backup [--tickets N]`; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.database import HubDatabase
from branch_hub.outbox import Outbox
from branch_hub.provision.cli import main as provision
from branch_hub.provision.common import Branch
from branch_hub.queue import Actor, QueueStore

PASSPHRASE = "bench passphrase 2026 lobby"  # noqa: S105 (a bench passphrase)
KIOSK = Actor(None, "K1")


def _must(code: int, argv: list[str]) -> None:
    if code != 0:
        raise SystemExit(f"branch-provision {argv[0]} failed with exit {code}")


def _branch(tmp: Path, tickets: int) -> Branch:
    """A branch from `init`, its hub.db filled like a busy day (tickets, sealed events)."""
    folder = tmp / "branch"
    argv = ["init", "--dir", str(folder), "--branch-id", "B001", "--name", "示例"]
    stdin, sys.stdin = sys.stdin, io.StringIO("864213\n")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _must(provision([*argv, "--region-code", "110105", "--pin-stdin"]), argv)
    finally:
        sys.stdin = stdin
    branch = Branch.load(folder)
    data = branch.data_dir
    db = HubDatabase(data / "hub.db")
    cipher = AtRestCipher(load_or_create_key(data / "atrest.key"))
    queue = QueueStore(db, branch.config, lambda: datetime.now(UTC))
    outbox = Outbox(db, cipher, timezone=branch.config.branch.timezone)
    services = [s.code for s in branch.config.services]
    for i in range(tickets):
        queue.issue(services[i % len(services)], KIOSK)
        payload = {"customer_id": f"C{i:07d}", "lead_id": f"L{i}", "outcome": "accepted",
                   "staff_id": "S001", "note": "客户表示下周再来面谈" * 3}  # fmt: skip
        outbox.enqueue("lead_outcome", payload, f"B001-{i}")
    db.close()
    return branch


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        _must(provision(argv), argv)
    return time.perf_counter() - t0


def main() -> None:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog="python -m bench.backup")
    p.add_argument("--tickets", type=int, default=5000)
    n = p.parse_args().tickets
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        branch = _branch(tmp, n)
        pw = tmp / "passphrase"
        pw.write_text(PASSPHRASE + "\n")
        t0 = time.perf_counter()
        with tarfile.open(tmp / "plain.tar", "w") as tar:
            tar.add(branch.folder, "branch")
        plain_s = time.perf_counter() - t0
        out = tmp / "B001.backup"
        backup_s = _timed(["backup", "--dir", str(branch.folder), "--out", str(out),
                           "--passphrase-file", str(pw)])  # fmt: skip
        restore_s = _timed(["restore", "--in", str(out), "--dir", str(tmp / "restored"),
                            "--passphrase-file", str(pw)])  # fmt: skip
        figures = {
            "tickets": n,
            "outbox_events": n,
            "folder_bytes": _size(branch.folder),
            "backup_bytes": out.stat().st_size,
            "backup_s": round(backup_s, 3),
            "restore_s": round(restore_s, 3),
            "plain_tar_s": round(plain_s, 4),
            "backup_vs_plain_tar": round(backup_s / plain_s, 1),
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
