"""Outbox figures: enqueue latency (sealed, synchronous=FULL) against a plain SQLite insert with
the same durability, and the drain rate to a real collector over TLS on loopback.

`python -m bench.outbox [--events N]`; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from branch_hub.atrest import AtRestCipher
from branch_hub.outbox import Outbox, OutboxSender, load_or_create_signing_key
from tests.outbox_support import Hq, running


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog="python -m bench.outbox")
    p.add_argument("--events", type=int, default=2000)
    n = p.parse_args().events
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        base = sqlite3.connect(tmp / "plain.db", isolation_level=None)
        base.execute("PRAGMA journal_mode=WAL")
        base.execute("PRAGMA synchronous=FULL")
        base.execute("CREATE TABLE t (k TEXT PRIMARY KEY, body TEXT)")
        plain = []
        for i in range(n):
            t0 = time.perf_counter()
            base.execute("INSERT INTO t VALUES (?, ?)", (f"k{i}", '{"customer_id":"C1"}'))
            plain.append(time.perf_counter() - t0)
        base.close()
        box = Outbox(tmp / "hub.db", AtRestCipher(b"b" * 32), timezone="UTC")
        sealed = []
        for i in range(n):
            payload = {"customer_id": f"C{i:07d}", "lead_id": f"L{i}", "outcome": "accepted",
                       "staff_id": "S001"}  # fmt: skip
            t0 = time.perf_counter()
            box.enqueue("lead_outcome", payload, f"B001-{i}")
            sealed.append(time.perf_counter() - t0)
        key = load_or_create_signing_key(tmp / "outcome_signing.key")
        hq = Hq(tmp, {"B001": tmp / "outcome_signing.pub"})
        sender = OutboxSender(box, collector_url=hq.url, ca_file=str(hq.ca), branch_id="B001",
                              signing_key=key, poll_s=0.01)  # fmt: skip
        with running(hq):

            async def drain() -> float:
                stop = asyncio.Event()
                t0 = time.perf_counter()
                task = asyncio.create_task(sender.run(stop))
                for _ in range(100_000):  # bounded: about 30 minutes at most
                    if not box.stats()["pending"]:
                        break
                    await asyncio.sleep(0.02)
                elapsed = time.perf_counter() - t0
                stop.set()
                await task
                return elapsed

            drain_s = asyncio.run(drain())
        sender.close()
        box.close()
    result = {
        "events": n,
        "enqueue_ms_p50": round(statistics.median(sealed) * 1000, 3),
        "enqueue_ms_p99": round(_pct(sealed, 0.99) * 1000, 3),
        "plain_insert_ms_p50": round(statistics.median(plain) * 1000, 3),
        "enqueue_vs_plain_p50_ratio": round(
            statistics.median(sealed) / statistics.median(plain), 2
        ),
        "drain_events_per_s": round(n / drain_s, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
