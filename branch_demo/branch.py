"""`./run demo [--headless]`: the whole simulated branch on this machine.

HQ's synthetic customers are published as signed bundles and served over HTTPS on loopback; the
real hub process pulls them, reads chip cards through pcscd + vpcd (virtual cards), drives pty
simulators (stripe reader, ID reader, printer), pushes to the kiosk and tablet apps and sends
lead outcomes to HQ's collector. `--headless` runs a scripted crowd (the branch-day bench at
demo speed) and writes rendered tickets, a display screenshot and a summary into `--out`.
Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drivers.sim.pcscd import PcscDaemon

__all__ = ["run_branch"]


def _display_relay(site: Any) -> Any:
    """Start the relay that shows the calling display to a browser as device D1."""
    from branch_demo.display_relay import DisplayRelay

    pki, dev = site.data / "pki", site.root / "devices"
    return DisplayRelay(
        site.url, pki / "ca.crt", dev / "D1.crt", dev / "D1.key", pki / "hub.crt", pki / "hub.key"
    ).start()


def _screenshot(url: str, out: Path) -> bool:
    """A headless Chromium screenshot of a hub page (False when Chromium is missing)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        return False
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--ignore-certificate-errors",  # the demo's branch CA is not in Chromium's store
                f"--user-data-dir={profile}",
                "--window-size=1920,1080",
                "--virtual-time-budget=3000",
                f"--screenshot={out}",
                url,
            ],
            capture_output=True,
            timeout=90,
            check=False,
        )
    return result.returncode == 0 and out.exists()


def _headless(args: argparse.Namespace) -> int:
    from branch_demo.day import DayOptions, run_day

    out: Path = args.out
    folder = out / "branch"
    shutil.rmtree(folder, ignore_errors=True)
    opts = DayOptions(
        hours=args.minutes / 60.0,
        speed=60.0,
        customers=args.customers,
        stations=2,
        tablets=4,
        restarts=1,
        outage_min=min(10.0, args.minutes / 3),
    )
    print(
        f"demo: {args.customers} HQ customers, a scripted crowd for {args.minutes:.0f} simulated "
        "minutes (one real second per simulated minute) ...",
        flush=True,
    )
    shots: list[str] = []

    def after(site: Any) -> None:
        shot = out / "display.png"
        relay = _display_relay(site)
        try:
            if _screenshot(relay.url, shot):
                shots.append(str(shot))
        finally:
            relay.stop()

    result = run_day(opts, folder, keep=True, render_tickets=True, before_close=after)
    tickets = sorted((folder / "tickets").rglob("*.png"))
    for i, png in enumerate(tickets[:12]):
        shutil.copy(png, out / f"ticket-{i + 1:02d}.png")
    summary = {**result, "screenshots": shots, "rendered_tickets": len(tickets)}
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print(
        f"demo: {result['tickets_issued']} tickets ({result['recognised']} customers recognised), "
        f"{len(tickets)} tickets rendered, {result['outcomes_received_at_hq']} lead outcomes at "
        f"HQ, {_catalogue_words(result)}, nothing lost: {result['ok']}; see {out}"
    )
    return 0 if result["ok"] else 1


def _catalogue_words(result: dict[str, Any]) -> str:
    """What the closing line says of the hub's product catalogue."""
    if not result.get("catalogue_sequence"):
        return "product catalogue NOT applied by the hub"
    return (
        f"product catalogue {result['catalogue_sequence']} applied "
        f"({result['catalogue_products']} products, "
        f"{result['leads_naming_catalogue_products']} leads naming them)"
    )


def _windows(site: Any, out: Path, display_url: str) -> list[subprocess.Popen[bytes]]:
    """Start the kiosk, a lobby manager's and a teller's tablet, and the display in a browser."""
    procs: list[subprocess.Popen[bytes]] = []
    dev, ca = site.root / "devices", site.data / "pki" / "ca.crt"
    log = (out / "apps.log").open("ab")

    def spawn(cmd: list[str]) -> None:
        with contextlib.suppress(OSError):
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))

    py = sys.executable
    spawn(
        [py, "-m", "kiosk.cli", "--hub", site.url, "--cert", str(dev / "K1.crt"), "--key",
         str(dev / "K1.key"), "--ca", str(ca), "--windowed", "--size", "960x720"]
    )  # fmt: skip
    for device, counter in (("T01", None), ("C1", "C1")):
        home = out / "tablets" / device
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(dev / f"{device}.crt", home / "device.crt")
        shutil.copy(dev / f"{device}.key", home / "device.key")
        os.chmod(home / "device.key", 0o600)
        shutil.copy(ca, home / "ca.crt")
        cmd = [py, "-m", "tablet.cli", "--hub", site.url, "--home", str(home), "--size", "1024x700"]
        spawn(cmd + (["--counter", counter] if counter else []))
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        profile = out / "chromium-profile"
        sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root otherwise
        spawn([browser, *sandbox, "--ignore-certificate-errors", f"--user-data-dir={profile}",
               "--no-first-run", f"--app={display_url}"])  # fmt: skip
    log.close()
    return procs


def _interactive(args: argparse.Namespace) -> int:
    from branch_demo.prompt import HELP, Prompt
    from branch_demo.site import PIN, BranchSite, SiteOptions

    out: Path = args.out
    shutil.rmtree(out / "branch", ignore_errors=True)
    pcscd = _start_pcscd(out)
    site = BranchSite(
        out / "branch",
        SiteOptions(
            customers=args.customers,
            stations=1,
            tablets=2,
            speed=1.0,
            render_tickets=True,
            pcsc_card_reader=pcscd is not None,
        ),
    )
    procs: list[subprocess.Popen[bytes]] = []
    relay: Any = None
    prompt = Prompt(site, chip_reader=pcscd is not None)
    try:
        print(
            f"demo: publishing {args.customers} synthetic customers and a product catalogue "
            "(HQ) ...",
            flush=True,
        )
        site.build()
        site.start_collector()
        site.start_hub()
        relay = _display_relay(site)
        print(f"demo: hub on {site.url}; calling display at {relay.url}; PINs are {PIN}")
        print(f"demo: tickets render into {site.root / 'tickets'}")
        if not args.no_windows and os.environ.get("DISPLAY"):
            procs = _windows(site, out, relay.url)
            print("demo: kiosk K1, lobby manager (S-T01 on T01), teller (S-C1 on C1) started")
        print(HELP)
        prompt.run()
    except KeyboardInterrupt:
        pass
    finally:
        print("\ndemo: stopping ...", flush=True)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        prompt.close()
        if relay is not None:
            relay.stop()
        site.close(keep=True)
        if pcscd is not None:
            pcscd.stop()
        print("demo: stopped")
    return 0


def _start_pcscd(out: Path) -> PcscDaemon | None:
    """Start pcscd with the virtual reader, or None when this machine has no pcscd/vpcd."""
    from drivers.sim.pcscd import PcscDaemon

    pcscd = PcscDaemon(log_path=out / "pcscd.log")
    try:
        pcscd.start()
    except Exception as exc:  # no pcscd/vpcd: chip cards are off, everything else works
        print(f"demo: no virtual chip-card reader ({exc}); stripe and ID cards still work")
        return None
    return pcscd


def run_branch(args: argparse.Namespace) -> int:
    """Bring up the simulated branch (headless crowd or interactive)."""
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        return _headless(args) if args.headless else _interactive(args)
    except KeyboardInterrupt:
        print("demo: stopped", file=sys.stderr)
        return 130
