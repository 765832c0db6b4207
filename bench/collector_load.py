"""Collector load: many branches posting outcome events at once to HQ's collector, on PostgreSQL,
with the SQLite collector under the same load in the same run as the baseline.

`python -m bench.collector_load [--branches 200] [--events 20] [--resend 0.1] [--concurrency 64]
[--collectors 2]`
Each simulated branch has its own Ed25519 outcome key, registered with the collector as a real
hub's is; it posts its events one after another like a hub's outbox (TLS on loopback), and posts
a share of them again as a hub does after a lost acknowledgement. At most `--concurrency`
requests are in flight; each store's run stops at `--max-seconds`. Afterwards the database is
read back: every event stored once (0 lost, 0 duplicated), each answered as new exactly once.
The stores alone (8 threads calling `receive`, no HTTP) are measured too (`*_store_events_per_s`).
The PostgreSQL server is a throwaway one (tests/support/pgserver.py) with fsync on; a last run
spreads the branches over `--collectors` processes sharing its database (`pg_spread_*`). The
last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import ssl
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.collector import EVENT_CONTEXT
from sync.collector_store import CollectorStore
from tests.outbox_support import Hq
from tests.support.pgserver import running_server

DAY = "2026-03-02"
Request = tuple[str, bytes, dict[str, str]]


@dataclass
class Outcome:
    """What one store's run measured and what its database holds afterwards."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    new: Counter[str] = field(default_factory=Counter)
    stored: int = 0
    lost: int = 0
    duplicated: int = 0


def _branches(folder: Path, count: int) -> tuple[dict[str, Ed25519PrivateKey], dict[str, Path]]:
    """Each branch's own outcome key, and its public key file for the collector."""
    folder.mkdir(parents=True)
    keys, pubs = {}, {}
    for n in range(count):
        branch = f"B{n:04d}"
        keys[branch] = Ed25519PrivateKey.generate()
        pubs[branch] = folder / f"{branch}.pub"
        pem = (
            keys[branch]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        pubs[branch].write_bytes(pem)
    return keys, pubs


def _requests(branch: str, key: Ed25519PrivateKey, events: int, resend: float) -> list[Request]:
    """A branch's signed posts in order, every 1/resend-th one posted twice in a row."""
    out: list[Request] = []
    every = round(1 / resend) if resend > 0 else 0
    for n in range(events):
        ikey = f"{branch}:lead_outcome:{n}"
        env = {"v": 1, "idempotency_key": ikey, "branch_id": branch, "kind": "lead_outcome",
               "at": f"{DAY}T02:{n % 60:02d}:00+00:00", "business_day": DAY,
               "payload": {"customer_id": f"C{n:07d}", "lead_id": f"L{n}",
                           "outcome": "accepted", "staff_id": "S001"}}  # fmt: skip
        body = json.dumps(env, separators=(",", ":")).encode()
        sig = base64.b64encode(key.sign(EVENT_CONTEXT + body)).decode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": ikey,
                   "Branch-Id": branch, "Branch-Signature": sig}  # fmt: skip
        out.append((ikey, body, headers))
        if every and n % every == every - 1:
            out.append((ikey, body, headers))
    return out


async def _post(
    plans: list[list[Request]], urls: list[str], ca: Path, concurrency: int, max_s: float
) -> Outcome:
    """Every branch posting its plan at once, at most `concurrency` requests in flight.

    With several collectors each branch posts to one of them, as a load balancer would send it.
    """
    ctx = ssl.create_default_context(cafile=str(ca))
    gate = asyncio.Semaphore(concurrency)
    result = Outcome(seconds=0.0)
    deadline = time.monotonic() + max_s
    connector = aiohttp.TCPConnector(ssl=ctx, limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def branch(plan: list[Request], url: str) -> None:
            for ikey, body, headers in plan:
                if time.monotonic() > deadline:
                    return
                async with gate:
                    t0 = time.perf_counter()
                    async with session.post(f"{url}/v1/events", data=body, headers=headers) as r:
                        await r.read()
                    result.latencies.append(time.perf_counter() - t0)
                result.answers[r.status] += 1
                if r.status == 201:
                    result.new[ikey] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(branch(p, urls[n % len(urls)]) for n, p in enumerate(plans)))
        result.seconds = time.perf_counter() - t0
    return result


def _verify(result: Outcome, target: Path | str, expected: set[str]) -> None:
    """Read the database back: what was lost, what is held twice."""
    store = CollectorStore(target)
    with store.database.read() as tx:
        keys = [k for (k,) in tx.all("SELECT idempotency_key FROM events")]
    store.close()
    result.stored = len(keys)
    result.lost = len(expected - set(keys))
    # Held twice: a key in two rows, or answered as new more than once.
    result.duplicated = len(keys) - len(set(keys)) + sum(n - 1 for n in result.new.values())


def _run_store(
    folder: Path,
    pubs: dict[str, Path],
    plans: list[list[Request]],
    args: Any,
    url: str | None,
    collectors: int = 1,
) -> Outcome:
    """Start the collector process(es) on one store, post every plan, read the store back."""
    hqs: list[Hq] = []
    for n in range(collectors):
        (folder / str(n)).mkdir(parents=True)
        hqs.append(Hq(folder / str(n), pubs, url))
        hqs[n].ca, hqs[n].cert, hqs[n].key = hqs[0].ca, hqs[0].cert, hqs[0].key
    try:
        for hq in hqs:
            hq.start()
        urls = [hq.url for hq in hqs]
        result = asyncio.run(_post(plans, urls, hqs[0].ca, args.concurrency, args.max_seconds))
    finally:
        for hq in hqs:
            hq.stop()
    _verify(result, hqs[0].store_target, {p[0] for plan in plans for p in plan})
    return result


def _store_only(target: Path | str, plans: list[list[Request]], threads: int) -> float:
    """Events/s the store alone takes from `threads` threads (no HTTP, TLS or signatures)."""
    work = [json.loads(body) for plan in plans for _, body, _ in plan]
    store = CollectorStore(target)
    shares = [work[t::threads] for t in range(threads)]

    def run(share: list[dict[str, Any]]) -> None:
        for env in share:
            store.receive(env)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, shares))
    elapsed = time.perf_counter() - t0
    counts = store.counts()
    store.close()
    if counts["deliveries"] != len(work):
        raise RuntimeError(f"the store counted {counts['deliveries']} of {len(work)} deliveries")
    return round(len(work) / elapsed, 1)


def _figures(name: str, r: Outcome) -> dict[str, Any]:
    ok = r.answers[200] + r.answers[201]
    lat = sorted(r.latencies) or [0.0]
    return {
        f"{name}_events_per_s": round(ok / r.seconds, 1) if r.seconds else 0.0,
        f"{name}_ms_p50": round(statistics.median(lat) * 1000, 2),
        f"{name}_ms_p99": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000, 2),
        f"{name}_posted": ok,
        f"{name}_refused": sum(n for s, n in r.answers.items() if s not in (200, 201)),
        f"{name}_stored": r.stored,
        f"{name}_lost": r.lost,
        f"{name}_duplicated": r.duplicated,
    }


def main() -> None:
    """Run the benchmark."""
    p = argparse.ArgumentParser(prog="python -m bench.collector_load")
    p.add_argument("--branches", type=int, default=200)
    p.add_argument("--events", type=int, default=20, help="events per branch")
    p.add_argument("--resend", type=float, default=0.1, help="share of events posted twice")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    p.add_argument("--max-seconds", type=float, default=240.0, help="per store")
    p.add_argument(
        "--collectors", type=int, default=2, help="PostgreSQL collector processes in a last run"
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        keys, pubs = _branches(tmp / "branches", args.branches)
        plans = [_requests(b, k, args.events, args.resend) for b, k in keys.items()]
        sqlite = _run_store(tmp / "sqlite", pubs, plans, args, None)
        alone = {"sqlite_store_events_per_s": _store_only(tmp / "alone.db", plans, 8)}
        with running_server(durable=True) as server:
            pg = _run_store(tmp / "pg", pubs, plans, args, server.create_database())
            alone["pg_store_events_per_s"] = _store_only(server.create_database(), plans, 8)
            spread = None
            if args.collectors > 1:  # several collector processes sharing the one database
                url = server.create_database()
                spread = _run_store(tmp / "pgn", pubs, plans, args, url, args.collectors)
    result: dict[str, Any] = {
        "branches": args.branches,
        "events": args.branches * args.events,
        "posts": sum(len(plan) for plan in plans),
        "concurrency": args.concurrency,
        **_figures("pg", pg),
        **_figures("sqlite", sqlite),
    }
    result |= alone
    if alone["sqlite_store_events_per_s"]:
        ratio = alone["pg_store_events_per_s"] / alone["sqlite_store_events_per_s"]
        result["pg_vs_sqlite_store_only"] = round(ratio, 2)
    if spread is not None:
        result |= {"collectors": args.collectors, **_figures("pg_spread", spread)}
    base = result["sqlite_events_per_s"]
    result["pg_vs_sqlite_throughput"] = round(result["pg_events_per_s"] / base, 2) if base else 0
    base_p99 = result["sqlite_ms_p99"]
    result["pg_vs_sqlite_p99"] = round(result["pg_ms_p99"] / base_p99, 2) if base_p99 else 0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
