"""Benchmark the staff-login burst after a hub restart: memory and the hub's answers meanwhile.

A real hub (`build_hub`, served over TLS on loopback as `branch-hub` serves it, in its own
process) with N enrolled tablets, each with its own staff member. All N log in at once (one
scrypt PIN check each, 32 MiB and ~0.1 s), while an enrolled kiosk asks GET /api/v1/health
back to back. Reported per arrangement: the hub process's peak RSS during the burst (VmHWM,
reset just before it), its RSS before and once the burst has settled, and the health answers'
latency p50/p99 during the burst.

Baseline in the same run: the same burst on a fresh hub with the old arrangement (PIN checks
on the loop's shared default executor, no heap trim), selected by the hub's internal
`hash_threads` option; both run in every invocation, alternating, and the JSON on the last
line carries the ratios (ours / old).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import aiohttp

from bench.arrival_setup import client_ssl, enrol, login, say, start_process, write_pki
from branch_hub.security.hashing import HASH_THREADS

ARRANGEMENTS = ("shared", "own")  # the old arrangement, then ours
SETTLE_S = 2.0  # after the last login, before RSS is read again (the trim comes after 0.5 s)


def write_config(path: Path, data_dir: Path) -> None:
    """The sample branch with station K1 and no devices (only logins are measured)."""
    raw = (resources.files("branch_hub") / "sample_branch.toml").read_text(encoding="utf-8")
    text = raw[: raw.index("[[stations]]")].replace('data_dir = "var"', f'data_dir = "{data_dir}"')
    text += '[[stations]]\nid = "K1"\ncard_reader = "none"\nid_reader = "none"\n'
    tomllib.loads(text)  # fail here, not in the hub
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- the hub process


async def _serve(config_path: Path, arrangement: str) -> int:
    """Build and serve the hub as `branch-hub` does, with the PIN checks' pool chosen; return
    how often it trimmed the heap."""
    from branch_hub.api.serve import hub_ssl_context, start_site
    from branch_hub.config import load_config
    from branch_hub.hub import HubOptions, build_hub

    threads = HASH_THREADS if arrangement == "own" else None
    hub = build_hub(load_config(config_path), config_path, HubOptions(hash_threads=threads))
    runner = await start_site(hub, "127.0.0.1", 0, hub_ssl_context(hub), shutdown_timeout_s=1)
    await hub.start()
    print(f"login-burst hub: listening on https://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await hub.close()
    return hub.security.hashing.trims


# ---------------------------------------------------------------- the burst


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux >= 4.0); False where refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


@dataclass
class _Burst:
    """What one burst measured."""

    health_ms: list[float] = field(default_factory=list)
    login_ms: list[float] = field(default_factory=list)
    peak_sampled_kib: int = 0


async def _probe_health(
    http: aiohttp.ClientSession, url: str, kiosk: ssl.SSLContext, out: list[float]
) -> None:
    """Ask for health back to back until cancelled, noting each answer's latency."""
    while True:
        t0 = time.perf_counter()
        async with http.get(f"{url}/api/v1/health", ssl=kiosk) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"health: {resp.status}")
        out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.005)


async def _sample_rss(pid: int, burst: _Burst) -> None:
    while True:
        burst.peak_sampled_kib = max(burst.peak_sampled_kib, _status_kib(pid, "VmRSS"))
        await asyncio.sleep(0.005)


async def _timed_login(
    http: aiohttp.ClientSession, url: str, context: ssl.SSLContext, dev: str, out: list[float]
) -> None:
    t0 = time.perf_counter()
    await login(http, url, context, dev)
    out.append((time.perf_counter() - t0) * 1000)


async def _burst(url: str, ssls: dict[str, ssl.SSLContext], pid: int) -> tuple[_Burst, list[float]]:
    """Idle health first (reference), then every tablet logs in at once while health is asked."""
    burst, idle = _Burst(), list[float]()
    tablets = [dev for dev in ssls if dev.startswith("T")]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        probe = asyncio.create_task(_probe_health(http, url, ssls["K1"], idle))
        await asyncio.sleep(0.5)
        probe.cancel()
        idle = idle[1:]  # the first carried the kiosk's TLS handshake
        _reset_peak(pid)
        sampler = asyncio.create_task(_sample_rss(pid, burst))
        probe = asyncio.create_task(_probe_health(http, url, ssls["K1"], burst.health_ms))
        await asyncio.gather(
            *(_timed_login(http, url, ssls[dev], dev, burst.login_ms) for dev in tablets)
        )
        probe.cancel()
        sampler.cancel()
    return burst, idle


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _one_hub(
    work: Path, config: Path, arrangement: str, ssls: dict[str, ssl.SSLContext]
) -> dict[str, Any]:
    """Start a fresh hub, measure one burst on it, stop it."""
    status = work / f"status-{arrangement}.json"
    argv = [
        sys.executable,
        "-m",
        "bench.login_burst",
        "--hub-server",
        str(config),
        arrangement,
        str(status),
    ]
    proc, url = start_process(argv)
    try:
        time.sleep(1.0)  # let its start-up work finish
        pid = proc.pid
        before = _status_kib(pid, "VmRSS")
        burst, idle = asyncio.run(_burst(url, ssls, pid))
        peak = max(_status_kib(pid, "VmHWM"), burst.peak_sampled_kib)
        time.sleep(SETTLE_S)
        after = _status_kib(pid, "VmRSS")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    trims = json.loads(status.read_text("utf-8"))["trims"] if status.exists() else -1
    return {
        "rss_before_mb": before / 1024,
        "peak_rss_mb": peak / 1024,
        "rss_after_mb": after / 1024,
        "health_ms": burst.health_ms,
        "idle_health_ms": idle,
        "login_ms": burst.login_ms,
        "trims": trims,
    }


# ---------------------------------------------------------------- main


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.login_burst", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--logins", type=int, default=28, help="devices logging in at once (28)")
    parser.add_argument("--rounds", type=int, default=2, help="bursts per arrangement (default 2)")
    parser.add_argument("--json", action="store_true", help="only the JSON line on stdout")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    parser.add_argument("--hub-server", nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _summary(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians over rounds of each figure, per arrangement, and ours / old."""

    def med(arr: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[arr]))

    def lat(arr: str, key: str, q: float) -> float:
        return _pct([v for r in runs[arr] for v in r[key]], q)

    out: dict[str, Any] = {
        "logins": args.logins,
        "rounds": args.rounds,
        "hash_threads": HASH_THREADS,
    }
    for arr, prefix in (("own", ""), ("shared", "baseline_")):
        rise = [r["peak_rss_mb"] - r["rss_before_mb"] for r in runs[arr]]
        out[prefix + "rss_before_mb"] = round(med(arr, "rss_before_mb"), 1)
        out[prefix + "peak_rss_mb"] = round(med(arr, "peak_rss_mb"), 1)
        out[prefix + "burst_rise_mb"] = round(statistics.median(rise), 1)
        out[prefix + "rss_after_mb"] = round(med(arr, "rss_after_mb"), 1)
        out[prefix + "health_p50_ms"] = round(lat(arr, "health_ms", 0.5), 2)
        out[prefix + "health_p99_ms"] = round(lat(arr, "health_ms", 0.99), 2)
        out[prefix + "health_max_ms"] = round(lat(arr, "health_ms", 1.0), 2)
        out[prefix + "health_answers"] = sum(len(r["health_ms"]) for r in runs[arr])
        out[prefix + "idle_health_p50_ms"] = round(lat(arr, "idle_health_ms", 0.5), 2)
        out[prefix + "login_p50_ms"] = round(lat(arr, "login_ms", 0.5), 1)
        out[prefix + "login_max_ms"] = round(lat(arr, "login_ms", 1.0), 1)
        out[prefix + "trims"] = sum(r["trims"] for r in runs[arr])

    def ratio(key: str) -> float:
        return round(float(out[key]) / max(float(out["baseline_" + key]), 1e-6), 2)

    for key in (
        "peak_rss_mb",
        "burst_rise_mb",
        "rss_after_mb",
        "health_p50_ms",
        "health_p99_ms",
        "login_max_ms",
    ):
        out[key.removesuffix("_mb").removesuffix("_ms") + "_ratio"] = ratio(key)
    return out


def _measure(args: argparse.Namespace, work: Path) -> dict[str, list[dict[str, Any]]]:
    data_dir = work / "hub"
    certs = write_pki(data_dir / "pki", args.logins)
    say(args.json, f"enrolling {args.logins} tablets and their staff (one scrypt hash each)")
    enrol(data_dir, certs)
    ca = data_dir / "pki" / "ca.crt"
    ssls = {dev: client_ssl(ca, pair) for dev, pair in certs.items()}
    config = work / "hub.toml"
    write_config(config, data_dir)
    runs: dict[str, list[dict[str, Any]]] = {arr: [] for arr in ARRANGEMENTS}
    for round_no in range(args.rounds):
        for arr in ARRANGEMENTS:
            run = _one_hub(work, config, arr, ssls)
            runs[arr].append(run)
            say(
                args.json,
                f"round {round_no + 1} {arr}: peak {run['peak_rss_mb']:.0f} MB, "
                f"after {run['rss_after_mb']:.0f} MB, health p99 "
                f"{_pct(run['health_ms'], 0.99):.1f} ms",
            )
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    args = _arguments(argv)
    if args.hub_server:
        config, arrangement, status = args.hub_server
        trims = asyncio.run(_serve(Path(config), arrangement))
        Path(status).write_text(json.dumps({"trims": trims}), encoding="utf-8")
        return 0
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-login-burst-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(json.dumps(_summary(args, _measure(args, work))))
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
