"""An enrolled tablet's requests while slow clients attack the real hub process from the LAN.

A branch is provisioned (CA, hub certificate, an enrolled tablet) and the real `branch-hub`
process is started on loopback with its default limits. The tablet makes a new request every
100 ms, each on a new TLS connection with its client certificate (GET /api/v1/health): first
without attack (the baseline), then while `bench.slow_attack` (its own process) holds up to
`--connections` slow connections from `--addresses` loopback addresses for `--seconds`. The hub's
open descriptors are sampled meanwhile, its CPU time and its log are measured.

`python -m bench.slow_clients [--connections N] [--seconds S] [--addresses A]`; the last stdout
line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.slow_attack import raise_open_files
from branch_demo.site import free_port
from branch_demo.site_files import enrol

__all__ = ["main", "run"]

SAMPLE = Path(__file__).resolve().parent.parent / "branch_hub" / "sample_branch.toml"
EVERY_S = 0.1  # one tablet request this often


def _pct(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2) if ordered else None


def _figures(took_ms: list[float], failed: int, slow_at_s: list[float]) -> dict[str, Any]:
    return {
        "requests": len(took_ms) + failed,
        "failed": failed,
        "p50_ms": _pct(took_ms, 0.5),
        "p95_ms": _pct(took_ms, 0.95),
        "p99_ms": _pct(took_ms, 0.99),
        "over_100ms_at_s": slow_at_s[:40],  # when, from the phase's start: do they bunch?
    }


async def _tablet(url: str, tls: ssl.SSLContext, seconds: float) -> dict[str, Any]:
    """GET /health every 100 ms for `seconds`, each on a new TLS connection; time each."""
    took_ms: list[float] = []
    slow_at_s: list[float] = []
    failed = 0
    begin = time.monotonic()
    end = begin + seconds
    timeout = aiohttp.ClientTimeout(total=30)
    while time.monotonic() < end:
        start = time.monotonic()
        connector = aiohttp.TCPConnector(ssl=tls, force_close=True)
        try:
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
                http.get(f"{url}/api/v1/health") as answer,
            ):
                await answer.read()
                ok = answer.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            took_ms.append((time.monotonic() - start) * 1000)
            if took_ms[-1] > 100:
                slow_at_s.append(round(start - begin, 1))
        else:
            failed += 1
        await asyncio.sleep(max(0.0, EVERY_S - (time.monotonic() - start)))
    return _figures(took_ms, failed, slow_at_s)


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


async def _sample_files(pid: int, peak: list[int]) -> None:
    while True:
        peak[0] = max(peak[0], _open_files(pid))
        await asyncio.sleep(0.5)


def _provision(root: Path) -> tuple[Path, ssl.SSLContext]:
    """A branch folder with its config, CA, hub certificate and one enrolled tablet."""
    config = root / "hub.toml"
    shutil.copyfile(SAMPLE, config)
    enrol(root / "var", root, 0, 1)
    tls = ssl.create_default_context(cafile=str(root / "var" / "pki" / "ca.crt"))
    tls.load_cert_chain(str(root / "devices" / "T01.crt"), str(root / "devices" / "T01.key"))
    return config, tls


def _start_hub(root: Path, config: Path, port: int) -> subprocess.Popen[bytes]:
    listen = f"127.0.0.1:{port}"
    with (root / "hub.log").open("ab") as log:
        hub = subprocess.Popen(
            [
                *(sys.executable, "-m", "branch_hub.cli"),
                "--config",
                str(config),
                "--listen",
                listen,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    deadline = time.monotonic() + 60
    while b"listening on" not in (root / "hub.log").read_bytes():
        if hub.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((root / "hub.log").read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    return hub


async def _health(url: str, tls: ssl.SSLContext) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http,
        http.get(f"{url}/api/v1/health") as answer,
    ):
        body: dict[str, Any] = await answer.json()
        return body


async def _under_attack(
    url: str, tls: ssl.SSLContext, hub_pid: int, args: argparse.Namespace
) -> dict[str, Any]:
    port = url.rsplit(":", 1)[1]
    attacker = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bench.slow_attack", "--port", port],
        *["--connections", str(args.connections), "--seconds", str(args.seconds)],
        *["--addresses", str(args.addresses)],
        stdout=asyncio.subprocess.PIPE,
    )
    peak = [0]
    hub_cpu, started = _cpu_s(hub_pid), time.monotonic()
    sampler = asyncio.create_task(_sample_files(hub_pid, peak))
    await asyncio.sleep(min(2.0, args.seconds / 4))  # the attack's connections ramp up
    legit = await _tablet(url, tls, args.seconds - min(2.0, args.seconds / 4))
    out, _ = await attacker.communicate()
    sampler.cancel()
    attack = json.loads(out.decode().strip().splitlines()[-1])
    busy = (_cpu_s(hub_pid) - hub_cpu) / (time.monotonic() - started)
    return {
        "legit": legit,
        "attack": attack,
        "hub_open_files_peak": peak[0],
        "hub_cpu_share": round(busy, 2),
    }


def _log_lines(path: Path, since: int) -> tuple[int, int, int]:
    """Lines, WARNING-or-worse lines and bytes the hub logged after byte `since`."""
    text = path.read_bytes()[since:].decode(errors="replace")
    lines = text.splitlines()
    loud = [line for line in lines if any(f" {lvl} " in line for lvl in ("WARNING", "ERROR"))]
    return len(lines), len(loud), len(text.encode())


async def _bench(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    config, tls = _provision(root)
    port = free_port()
    hub = _start_hub(root, config, port)
    url = f"https://127.0.0.1:{port}"
    try:
        await _tablet(url, tls, 1.0)  # warm up
        baseline = await _tablet(url, tls, args.baseline_seconds)
        idle_files = _open_files(hub.pid)
        log_from = (root / "hub.log").stat().st_size
        attacked = await _under_attack(url, tls, hub.pid, args)
        lines, loud, size = _log_lines(root / "hub.log", log_from)
        health = await _health(url, tls)
    finally:
        hub.terminate()
        hub.wait(30)
    legit = attacked["legit"]
    return {
        "bench": "slow_clients",
        "baseline": baseline,
        "under_attack": legit,
        "p95_ratio_attack_vs_baseline": round(legit["p95_ms"] / baseline["p95_ms"], 2)
        if legit["p95_ms"] and baseline["p95_ms"]
        else None,
        "attack": attacked["attack"],
        "hub_connections_refused": health.get("connections_refused"),
        "hub_connections_timed_out": health.get("connections_timed_out"),
        "hub_tls_handshakes_failed": health.get("tls_handshakes_failed"),
        "hub_open_files_idle": idle_files,
        "hub_open_files_peak": attacked["hub_open_files_peak"],
        "hub_cpu_share_during_attack": attacked["hub_cpu_share"],
        "log_lines_during_attack": lines,
        "log_warning_lines_during_attack": loud,
        "log_bytes_during_attack": size,
    }


def run(
    connections: int = 2000,
    seconds: float = 60.0,
    addresses: int = 8,
    baseline_seconds: float = 10.0,
) -> dict[str, Any]:
    """Run the bench; return its figures."""
    raise_open_files()
    args = argparse.Namespace(
        connections=connections,
        seconds=seconds,
        addresses=addresses,
        baseline_seconds=baseline_seconds,
    )
    root = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    try:
        return asyncio.run(_bench(root, args))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run, print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="bench.slow_clients", description=__doc__)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--addresses", type=int, default=8, help="127.0.0.2 and up")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    result = run(args.connections, args.seconds, args.addresses, args.baseline_seconds)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
