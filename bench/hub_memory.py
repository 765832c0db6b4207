"""Benchmark the hub process's memory as its customer cache grows, phase by phase.

A real simulated branch (`branch_demo.site.BranchSite`: HQ's bundles served over HTTPS on
loopback, the real `branch-hub` process) with N customers. A thread samples the hub's VmRSS every
50 ms; the peak of each phase is VmHWM, reset through /proc/PID/clear_refs when the phase starts.
Phases: listening (health answers, before the first pull is applied), the first snapshot's pull
and apply (until /health reports sequence 1), the walk of the whole cache for today's bookings
(until the hub logs it), a delta changing a tenth of the customers (until /health reports
sequence 2, then its walk), and the RSS once each has settled.

Baseline in the same run: the same phases for a branch with 5,000 customers (the branch day's
default); the JSON on the last line carries ratio = N / baseline per phase.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.branch_site import BranchSite, SiteOptions

BASELINE = 5000
SAMPLE_S = 0.05
SETTLE_S = 3.0  # after a phase, before its steady RSS is read
WAIT_S = 1800.0  # a 5M snapshot takes minutes to apply on a small machine
PHASES = (
    "listening_mb",
    "snapshot_peak_mb",
    "after_snapshot_mb",
    "walk_peak_mb",
    "after_walk_mb",
    "delta_peak_mb",
    "after_delta_mb",
    "anon_after_mb",
    "file_after_mb",
)


def say(text: str) -> None:
    """Progress on stdout (the JSON comes last)."""
    print(text, flush=True)


class Sampler(threading.Thread):
    """The hub's RSS every 50 ms; the most seen since the last `reset`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.most_kb, self.done = pid, 0, threading.Event()

    def status(self, key: str) -> int:
        """One /proc/PID/status figure in KiB (0 once the process is gone)."""
        try:
            text = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        except OSError:
            return 0
        found = re.search(rf"^{key}:\s+(\d+)", text, re.MULTILINE)
        return int(found.group(1)) if found else 0

    def reset(self) -> None:
        """Start a phase: VmHWM and the sampled peak from the RSS now."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5", encoding="ascii")
        self.most_kb = self.status("VmRSS")

    def peak_mb(self) -> float:
        """The phase's peak: VmHWM, or the sampled peak if higher."""
        return round(max(self.status("VmHWM"), self.most_kb) / 1024, 1)

    def rss_mb(self, key: str = "VmRSS") -> float:
        """The RSS now (or RssAnon / RssFile)."""
        return round(self.status(key) / 1024, 1)

    def run(self) -> None:
        while not self.done.wait(SAMPLE_S):
            self.most_kb = max(self.most_kb, self.status("VmRSS"))


def _health(site: BranchSite) -> dict[str, Any] | None:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", site.hub_port, context=site.device_context("T01"), timeout=10
    )
    try:
        conn.request("GET", "/api/v1/health")
        answer = conn.getresponse()
        body = answer.read()
        return json.loads(body) if answer.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()


def _until(what: str, test: Callable[[], bool]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < WAIT_S:
        if test():
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"the hub did not get to {what} in {WAIT_S:.0f} s")


def _at_sequence(site: BranchSite, want: int) -> bool:
    body = _health(site)
    return body is not None and int((body.get("cache") or {}).get("sequence") or 0) >= want


def _walked(site: BranchSite, sequence: int) -> bool:
    text = (site.root / "hub.log").read_text(encoding="utf-8", errors="replace")
    return f"indexed at cache sequence {sequence}:" in text


def _phases(site: BranchSite, sampler: Sampler, customers: int, delta: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    _until("answering /health", lambda: _health(site) is not None)
    out["listening_mb"] = sampler.rss_mb()
    sampler.reset()
    out["snapshot_s"] = round(_until("sequence 1", lambda: _at_sequence(site, 1)), 1)
    out["snapshot_peak_mb"] = sampler.peak_mb()
    out["after_snapshot_mb"] = sampler.rss_mb()  # the walk may start any moment (2 s sweeps)
    sampler.reset()
    out["walk_s"] = round(_until("its booking walk", lambda: _walked(site, 1)), 1)
    out["walk_peak_mb"] = sampler.peak_mb()
    time.sleep(SETTLE_S)
    out["after_walk_mb"] = sampler.rss_mb()
    if not delta:
        out["anon_after_mb"] = sampler.rss_mb("RssAnon")
        out["file_after_mb"] = sampler.rss_mb("RssFile")
        return out
    site.publish_delta(added=max(1, customers // 100), changed=max(1, customers // 10))
    sampler.reset()
    out["delta_s"] = round(_until("sequence 2", lambda: _at_sequence(site, 2)), 1)
    _until("the delta's walk", lambda: _walked(site, 2))
    out["delta_peak_mb"] = sampler.peak_mb()
    time.sleep(SETTLE_S)
    out["after_delta_mb"] = sampler.rss_mb()
    out["anon_after_mb"] = sampler.rss_mb("RssAnon")
    out["file_after_mb"] = sampler.rss_mb("RssFile")
    return out


def _config_fast_sweep(site: BranchSite) -> None:
    """The booking walk runs at the appointment sweep: every 2 s here instead of a minute."""
    with site.config_path.open("a", encoding="utf-8") as f:
        f.write("[appointments]\nsweep_interval_s = 2\n")


def measure(
    customers: int, work: Path, *, delta: bool = True, keep: bool = False
) -> dict[str, float]:
    """Build a branch of `customers`, run the hub through the phases, return its RSS per phase."""
    started = time.monotonic()
    site = BranchSite(
        work / f"branch-{customers}",
        SiteOptions(customers=customers, stations=1, tablets=2, keep_customers=delta),
    )
    try:
        site.build()
        _config_fast_sweep(site)
        setup_s = time.monotonic() - started
        site.start_hub()
        if site.hub is None:
            raise RuntimeError("the hub did not start")
        sampler = Sampler(site.hub.pid)
        sampler.start()
        try:
            out = _phases(site, sampler, customers, delta)
        finally:
            sampler.done.set()
        out["setup_s"] = round(setup_s, 1)
        return out
    finally:
        site.close(keep=keep)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.hub_memory", description=__doc__)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--baseline", type=int, default=BASELINE, help="the baseline branch's size")
    p.add_argument(
        "--no-delta",
        action="store_true",
        help="skip the delta (HQ's side of it holds every customer in memory: GBs at 5M)",
    )
    p.add_argument("--keep", type=Path, help="build in this folder and keep it (HQ's bundles)")
    p.add_argument("--json", action="store_true", help="only the JSON line on stdout at the end")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Measure the baseline branch, then the big one; print the table and the JSON."""
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="hub-memory-") as tmp:
        work = args.keep or Path(tmp)
        delta = not args.no_delta
        small = measure(args.baseline, work, delta=delta, keep=bool(args.keep))
        if not args.json:
            say(f"baseline {args.baseline:,} customers: {small}")
        big = measure(args.customers, work, delta=delta, keep=bool(args.keep))
    result: dict[str, Any] = {"customers": args.customers, "baseline_customers": args.baseline}
    phases = [key for key in PHASES if key in big]
    for key in phases:
        result[key] = big[key]
        result[f"baseline_{key}"] = small[key]
        result[f"{key.removesuffix('_mb')}_ratio"] = round(big[key] / max(small[key], 0.1), 2)
    for key in ("setup_s", "snapshot_s", "walk_s", "delta_s"):
        if key in big:
            result[key], result[f"baseline_{key}"] = big[key], small[key]
    if not args.json:
        for key in phases:
            say(
                f"{key:18} {small[key]:8.1f} {big[key]:8.1f}  x{result[key.removesuffix('_mb') + '_ratio']}"
            )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
