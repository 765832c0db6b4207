"""The whole hub's start against its history: `branch-hub` process start to the first answer.

A branch is provisioned (CA, hub certificate, an enrolled tablet) and the real `branch-hub`
process started once on loopback, so its data folder is what production creates. Then, with
the hub stopped, --days business days of history are written through the hub's own stores
(the queue store and the push event log, sealed with the branch's at-rest key, one
transaction a day): each day --tickets tickets issued, called at a counter and finished, and
the push events of each (arrival, waiting changed, called, finished, ticket updated, six a
ticket; 2,400 a day at 400 tickets, a busy branch). The hub is then started --repeats times;
each start is timed from `Popen` to the first `GET /api/v1/health` answered over mutual TLS
(the tablet's certificate), and stopped with SIGTERM. Baseline in the same run: the same
starts of the same branch with no history (a fresh data folder).

`python -m bench.hub_start [--days 365] [--tickets 400] [--repeats 5]`; the last stdout line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.slow_clients import _provision
from branch_demo.site import free_port
from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.config import load_config, resolve_data_dir
from branch_hub.database import HubDatabase
from branch_hub.push import EventLog
from branch_hub.queue import Actor, QueueStore
from branch_hub.retention import business_date, business_day_start

KIOSK = Actor(None, "K1")
STAFF = Actor("S001", "T01")
SERVICES = ("cash", "cash", "account", "cash", "wealth", "loan", "account", "cash")
COUNTERS = {"cash": "C3", "account": "C1", "wealth": "V1", "loan": "V1"}


class _Clock:
    """The history's clock, moved along by the writer."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _day(queue: QueueStore, log: EventLog, clock: _Clock, start: datetime, tickets: int) -> None:
    """One business day through the stores: every ticket issued, called and finished."""
    step = timedelta(hours=8) / tickets
    clock.now = start + timedelta(hours=9)
    for counter in sorted(set(COUNTERS.values())):
        queue.open_counter(counter, STAFF)
    for nth in range(tickets):
        clock.now = start + timedelta(hours=9) + nth * step
        service = SERVICES[nth % len(SERVICES)]
        ticket = queue.issue(service, KIOSK).ticket
        assert ticket is not None  # noqa: S101 (issue always returns its ticket)
        called = queue.call_next(COUNTERS[service], STAFF).ticket
        queue.finish(called.id if called else ticket.id, STAFF)
        counter = COUNTERS[service]
        data = {"ticket": ticket.number, "service": service, "visit_id": f"v-{ticket.id}",
                "counter_id": counter, "counter_number": 3, "counter_name_zh": "3号窗口"}  # fmt: skip
        waiting = {"waiting": {service: nth % 7}, "wait_min": {service: nth % 20}}
        for kind in ("arrival", "called", "finished", "ticket_updated"):
            log.append(kind, data, now=clock.now)
        for _ in range(2):
            log.append("waiting_changed", waiting, now=clock.now)


def write_history(config_path: Path, days: int, tickets: int) -> dict[str, float]:
    """Write `days` business days of history into the hub's data folder (the hub stopped)."""
    config = load_config(config_path)
    data = resolve_data_dir(config, config_path)
    zone = config.branch.timezone
    db = HubDatabase(data / "hub.db")
    cipher = AtRestCipher(load_or_create_key(data / "atrest.key"))
    clock = _Clock()
    queue = QueueStore(db, config, clock, synchronous="NORMAL")
    log = EventLog(db, cipher)
    today = business_date(zone, datetime.now(UTC))
    t0 = time.perf_counter()
    for back in range(days, 0, -1):
        with db.transaction():
            _day(queue, log, clock, business_day_start(zone, today - timedelta(days=back)), tickets)
    took = time.perf_counter() - t0
    events = log.last_seq()
    queue.close()
    log.close()
    db.close()
    size = sum(p.stat().st_size for p in data.glob("hub.db*"))
    return {"write_s": took, "push_events": events, "hub_db_bytes": size}


def start_once(root: Path, config: Path, tls: tuple[str, tuple[str, str]]) -> float:
    """Start the hub, wait for its first health answer, stop it; return the seconds to answer."""
    port = free_port()
    url = f"https://127.0.0.1:{port}/api/v1/health"
    command = [sys.executable, "-m", "branch_hub.cli", "--config", str(config)]
    with (root / "hub.log").open("ab") as out:
        t0 = time.perf_counter()
        hub = subprocess.Popen(
            [*command, "--listen", f"127.0.0.1:{port}"], stdout=out, stderr=out, cwd=root
        )
    try:
        for _ in range(6000):  # 60 s at most
            try:
                if requests.get(url, verify=tls[0], cert=tls[1], timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            except requests.RequestException:
                pass
            if hub.poll() is not None:
                break
            time.sleep(0.01)
        log = (root / "hub.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the hub did not answer: {log}")
    finally:
        hub.send_signal(signal.SIGTERM)
        hub.wait(60)


def _branch(root: Path) -> tuple[Path, tuple[str, tuple[str, str]]]:
    """A provisioned branch and the tablet's TLS files (CA, certificate and key)."""
    config, _context = _provision(root)
    ca = str(root / "var" / "pki" / "ca.crt")
    cert = (str(root / "devices" / "T01.crt"), str(root / "devices" / "T01.key"))
    return config, (ca, cert)


def _starts(root: Path, config: Path, tls: tuple[str, tuple[str, str]], n: int) -> list[float]:
    return [start_once(root, config, tls) for _ in range(n)]


def run(days: int = 365, tickets: int = 400, repeats: int = 5) -> dict[str, Any]:
    """Run the bench; return its figures."""
    work = Path(tempfile.mkdtemp(prefix="hub-start-"))
    try:
        empty, full = work / "empty", work / "history"
        empty.mkdir()
        full.mkdir()
        empty_config, empty_tls = _branch(empty)
        full_config, full_tls = _branch(full)
        start_once(full, full_config, full_tls)  # the data folder as production creates it
        history = write_history(full_config, days, tickets)
        start_once(full, full_config, full_tls)  # a first start after an upgrade may build indexes
        baseline = _starts(empty, empty_config, empty_tls, repeats)
        starts = _starts(full, full_config, full_tls, repeats)
        start_s, baseline_s = statistics.median(starts), statistics.median(baseline)
        return {
            "bench": "hub_start",
            "days": days,
            "tickets_per_day": tickets,
            **history,
            "start_s": round(start_s, 3),
            "start_max_s": round(max(starts), 3),
            "baseline_s": round(baseline_s, 3),
            "ratio": round(start_s / baseline_s, 3),
            "repeats": repeats,
            "cpus": os.cpu_count(),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="bench.hub_start", description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--tickets", type=int, default=400, help="tickets a business day")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.days, args.tickets, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
