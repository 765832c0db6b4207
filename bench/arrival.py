"""Benchmark the arrival flow end to end: a real hub (own process, HTTPS with client certs),
simulated devices, one kiosk client and N tablets on WebSockets over TLS.

Each arrival: the simulated stripe reader types a swipe (card or passbook of a cached customer,
or an unknown card) into its pty -> the hub's watcher reads it, identifies the customer in the
encrypted cache and opens a kiosk session -> the kiosk client, told over its WebSocket, at once
POSTs a service choice -> the hub issues the ticket, prints it on the simulated ESC/POS printer
(a pty) and pushes the `arrival` event. Measured from the swipe to (a) the complete ticket bytes
at the printer and (b) the arrival event received by every tablet. The stripe reader stands in
for the card reader: a vpcd virtual card insert goes through pcscd's reader polling (hundreds of
ms per swap), which would measure pcscd, not the hub; tests/test_lobby_card.py covers that path.

Baseline in the same run: a bare aiohttp WebSocket server (own process, same TLS setup) that
broadcasts a message of the same size to the same number of clients; measured from the trigger
to the last client's receipt. Last line of stdout: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bench.arrival_setup import (
    TimedPrinter,
    Trigger,
    build_cache,
    card_triggers,
    client_ssl,
    enrol,
    login,
    say,
    start_pcscd,
    start_process,
    swipe_triggers,
    write_config,
    write_pki,
)
from bench.broadcast import baseline_server, run_baseline, until
from drivers.sim.magstripe import MagstripeSimulator


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------- the measured run


@dataclass
class _Tablets:
    """What every tablet received: when each arrival event came, and the seqs in order."""

    names: list[str]
    received: dict[str, dict[str, float]] = field(default_factory=dict)
    seqs: dict[str, list[int]] = field(default_factory=dict)
    arrival_sizes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.received = {dev: {} for dev in self.names}
        self.seqs = {dev: [] for dev in self.names}

    async def listen(self, dev: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Note each event's seq and when each arrival reached this tablet."""
        async for msg in ws:
            now = time.monotonic()
            data = json.loads(msg.data)
            if data.get("type") != "event":
                continue
            self.seqs[dev].append(data["seq"])
            if data["kind"] == "arrival":
                self.received[dev][data["data"]["ticket"]["id"]] = now
                if dev == self.names[0]:
                    self.arrival_sizes.append(len(msg.data))

    def delivered(self, printer: TimedPrinter, before: int, tid: str) -> bool:
        """Tell whether the ticket is printed and every tablet has its arrival."""
        return len(printer.done_at) > before and all(tid in got for got in self.received.values())

    def missed(self, ticket_ids: list[str]) -> int:
        """Count arrivals a tablet never got and gaps in any tablet's sequence."""
        missed = sum(1 for d in self.names for tid in ticket_ids if tid not in self.received[d])
        for dev in self.names:  # the branch-wide sequence must have no gaps on any tablet
            s = self.seqs[dev]
            missed += sum(1 for a, b in itertools.pairwise(s) if b != a + 1)
        return missed


@dataclass
class _Timings:
    """Per-arrival latencies in ms, from the trigger."""

    ticket_ms: list[float] = field(default_factory=list)
    brief_ms: list[float] = field(default_factory=list)
    session_ms: list[float] = field(default_factory=list)
    response_ms: list[float] = field(default_factory=list)
    recognised: int = 0
    ticket_ids: list[str] = field(default_factory=list)


async def _kiosk_session(kiosk: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            msg = await kiosk.receive_json()
            if msg["kind"] == "kiosk.session" and msg["data"].get("state") in (
                "recognised",
                "walk_in",
            ):
                return dict(msg["data"])


async def _one_arrival(
    http: aiohttp.ClientSession,
    url: str,
    kiosk: tuple[aiohttp.ClientWebSocketResponse, ssl.SSLContext],
    printer: TimedPrinter,
    tablets: _Tablets,
    trigger: Trigger,
    service: str,
    timings: _Timings,
) -> None:
    printed_before = len(printer.done_at)
    t0 = time.monotonic()
    await asyncio.to_thread(trigger[0])
    session = await _kiosk_session(kiosk[0])
    timings.session_ms.append((time.monotonic() - t0) * 1000)
    timings.recognised += session["state"] == "recognised"
    async with http.post(
        f"{url}/api/v1/kiosk/tickets",
        json={"service": service, "session_id": session["session_id"]},
        ssl=kiosk[1],
    ) as resp:
        body = await resp.json()
        if resp.status != 201 or not body["print"]["ok"]:
            raise RuntimeError(f"ticket failed: {resp.status} {body}")
    timings.response_ms.append((time.monotonic() - t0) * 1000)
    tid = body["ticket"]["id"]
    timings.ticket_ids.append(tid)
    await until(partial(tablets.delivered, printer, printed_before, tid))
    timings.ticket_ms.append((printer.done_at[printed_before] - t0) * 1000)
    timings.brief_ms.append((max(got[tid] for got in tablets.received.values()) - t0) * 1000)
    if trigger[1] is not None:
        await asyncio.to_thread(trigger[1])


async def run_arrivals(
    url: str,
    ssls: dict[str, ssl.SSLContext],
    printer: TimedPrinter,
    triggers: list[Trigger],
    services: list[str],
    gap_s: float,
) -> dict[str, Any]:
    """Drive the arrivals; return per-arrival latencies and what each tablet received."""
    tablets = _Tablets([dev for dev in ssls if dev.startswith("T")])
    timings = _Timings()
    async with aiohttp.ClientSession() as http:
        conns = [
            await http.ws_connect(
                f"{url}/api/v1/events",
                ssl=ssls[dev],
                max_msg_size=0,
                headers=await login(http, url, ssls[dev], dev),
            )
            for dev in tablets.names
        ]
        for ws in conns:
            assert (await ws.receive_json())["type"] == "live"  # noqa: S101
        listeners = [
            asyncio.create_task(tablets.listen(dev, ws))
            for dev, ws in zip(tablets.names, conns, strict=True)
        ]
        kiosk = await http.ws_connect(f"{url}/api/v1/kiosk/events", ssl=ssls["K1"])
        await kiosk.receive_json()
        for trigger, service in zip(triggers, services, strict=True):
            await _one_arrival(
                http, url, (kiosk, ssls["K1"]), printer, tablets, trigger, service, timings
            )
            await asyncio.sleep(gap_s)
        await asyncio.sleep(0.2)
        await kiosk.close()
        for ws in conns:
            await ws.close()
        for task in listeners:
            task.cancel()
    sizes = tablets.arrival_sizes
    return {
        "ticket_ms": timings.ticket_ms,
        "session_ms": timings.session_ms,
        "response_ms": timings.response_ms,
        "brief_ms": timings.brief_ms,
        "recognised": timings.recognised,
        "missed": tablets.missed(timings.ticket_ids),
        "message_bytes": int(statistics.median(sizes)) if sizes else 600,
    }


# ---------------------------------------------------------------- main


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.arrival", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--customers", type=int, default=20_000, help="customers in the cache (default 20000)"
    )
    parser.add_argument(
        "--tablets", type=int, default=20, help="WebSocket tablet clients (default 20)"
    )
    parser.add_argument(
        "--arrivals", type=int, default=200, help="arrivals to measure (default 200)"
    )
    parser.add_argument(
        "--gap-ms", type=float, default=20.0, help="pause between arrivals (default 20)"
    )
    parser.add_argument(
        "--card-arrivals",
        type=int,
        default=0,
        help="also measure N arrivals by vpcd virtual card through pcscd (needs pcscd; default 0)",
    )
    parser.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    parser.add_argument(
        "--baseline-server", nargs=2, metavar=("PKI", "PORTFILE"), help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def _summary(
    args: argparse.Namespace,
    result: dict[str, Any],
    base_ms: list[float],
    cards: dict[str, Any] | None,
) -> dict[str, Any]:
    def p(values: list[float], q: float) -> float:
        return round(_pct(values, q), 2)

    out = {
        "arrivals": len(result["brief_ms"]),
        "tablets": args.tablets,
        "customers": args.customers,
        "recognised": result["recognised"],
        "ticket_p50_ms": p(result["ticket_ms"], 0.5),
        "ticket_p99_ms": p(result["ticket_ms"], 0.99),
        "brief_p50_ms": p(result["brief_ms"], 0.5),
        "brief_p95_ms": p(result["brief_ms"], 0.95),
        "brief_p99_ms": p(result["brief_ms"], 0.99),
        "session_p50_ms": p(result["session_ms"], 0.5),
        "session_p99_ms": p(result["session_ms"], 0.99),
        "response_p50_ms": p(result["response_ms"], 0.5),
        "baseline_broadcast_p50_ms": p(base_ms, 0.5),
        "baseline_broadcast_p95_ms": p(base_ms, 0.95),
        "baseline_broadcast_p99_ms": p(base_ms, 0.99),
        **{
            f"brief_p{round(q * 100)}_over_baseline": round(
                _pct(result["brief_ms"], q) / max(_pct(base_ms, q), 1e-6), 2
            )
            for q in (0.5, 0.95, 0.99)
        },
        "message_bytes": result["message_bytes"],
        "missed_events": result["missed"] + (cards["missed"] if cards else 0),
        "target_brief_p99_ms": 30,
    }
    if cards is not None:
        out["card_arrivals"] = len(cards["brief_ms"])
        out["card_session_p50_ms"] = p(cards["session_ms"], 0.5)
        out["card_brief_p50_ms"] = p(cards["brief_ms"], 0.5)
        out["card_brief_p99_ms"] = p(cards["brief_ms"], 0.99)
    return out


@dataclass
class _Rig:
    """What the bench started, stopped in `close()`."""

    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    swiper: MagstripeSimulator | None = None
    printer: TimedPrinter | None = None
    pcscd: Any = None

    def close(self) -> None:
        """Stop the processes and the simulated devices."""
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.printer is not None:
            self.printer.stop()
        if self.pcscd is not None:
            self.pcscd.stop()
        if self.swiper is not None:
            self.swiper.close()


def _measure(
    args: argparse.Namespace, work: Path, rig: _Rig
) -> tuple[dict[str, Any], list[float], dict[str, Any] | None]:
    """Run the arrivals (and card arrivals), then the baseline; return all three."""
    quiet = args.json
    _cache, sample = build_cache(work, args.customers, quiet)
    data_dir = work / "hub"
    certs = write_pki(data_dir / "pki", args.tablets)
    enrol(data_dir, certs)
    ca = data_dir / "pki" / "ca.crt"
    ssls = {dev: client_ssl(ca, pair) for dev, pair in certs.items()}
    swiper = rig.swiper = MagstripeSimulator("wedge", work / "ttyMSR")
    printer = rig.printer = TimedPrinter(work / "ttyPRN", work / "tickets")
    printer.start()
    config = work / "hub.toml"
    if args.card_arrivals:
        rig.pcscd = start_pcscd(work)
    write_config(config, data_dir, swiper.path, Path(printer.path), card=args.card_arrivals > 0)
    hub_bin = Path(sys.executable).parent / "branch-hub"
    hub, url = start_process([str(hub_bin), "--config", str(config), "--listen", "127.0.0.1:0"])
    rig.procs.append(hub)
    say(quiet, f"hub: {url}")
    rng = random.Random(7)
    swipes = swipe_triggers(swiper, sample, args.arrivals, rng)
    services = [rng.choice(["cash", "cash", "account", "wealth", "loan"]) for _ in swipes]
    time.sleep(0.5)  # let the hub open the stripe reader
    # A few unmeasured arrivals warm up TLS sessions, SQLite pages and the lookup thread.
    asyncio.run(run_arrivals(url, ssls, printer, swipes[:5], services[:5], 0.02))
    result = asyncio.run(run_arrivals(url, ssls, printer, swipes, services, args.gap_ms / 1000))
    cards: dict[str, Any] | None = None
    if args.card_arrivals:
        cards = asyncio.run(
            run_arrivals(
                url,
                ssls,
                printer,
                card_triggers(sample, args.card_arrivals, rng),
                ["cash"] * args.card_arrivals,
                1.0,  # pcscd (polling vpcd) must notice the removal before the next insert
            )
        )
    say(quiet, f"arrivals: {len(result['brief_ms'])}, recognised {result['recognised']}")
    base, base_url = start_process(
        [
            sys.executable,
            "-m",
            "bench.arrival",
            "--baseline-server",
            str(data_dir / "pki"),
            str(work / "baseline.port"),
        ]
    )
    rig.procs.append(base)
    base_ms = asyncio.run(
        run_baseline(base_url, ssls, result["message_bytes"], args.arrivals, args.gap_ms / 1000)
    )
    return result, base_ms, cards


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    args = _arguments(argv)
    if args.baseline_server:
        baseline_server(Path(args.baseline_server[0]), Path(args.baseline_server[1]))
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-arrival-"))
    work.mkdir(parents=True, exist_ok=True)
    rig = _Rig()
    try:
        result, base_ms, cards = _measure(args, work, rig)
        print(json.dumps(_summary(args, result, base_ms, cards)))
        return 0 if result["missed"] == 0 else 1
    finally:
        rig.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
