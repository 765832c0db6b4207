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
from typing import Any

__all__ = ["run_branch"]

HELP = """commands (N picks synthetic customer number N):
  chip N      insert customer N's chip card into the virtual reader (pcscd + vpcd)
  pull        take the chip card out
  card N      swipe customer N's bank card on the stripe reader
  id N        place customer N's resident ID card on the reader
  off         take the ID card off the reader
  paper       toggle 'paper out' on the printer
  ticket [S]  take a ticket at K1 as its touchscreen would (service S, default cash)
  call C      call the next ticket to counter C (e.g. C1) as its teller
  log         the hub's last log line
  quit        stop everything (or Ctrl-C)"""


def _display_relay(site: Any) -> Any:
    """Start the relay that shows the calling display to a browser as device D1."""
    from branch_hub.demo_display import DisplayRelay

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
    from bench.branch_day import DayOptions, run_day

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
        f"HQ, nothing lost: {result['ok']}; see {out}"
    )
    return 0 if result["ok"] else 1


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


def _as_device(site: Any, cmd: str, arg: str) -> str:
    """Act as K1's touchscreen (ticket) or a counter's teller (call) over mTLS."""
    import requests

    from bench.branch_site import PIN

    ca = str(site.data / "pki" / "ca.crt")
    dev = site.root / "devices"
    device = "K1" if cmd == "ticket" else (arg or "C1")
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE would replace the pinned branch CA
    http.verify, http.cert = ca, (str(dev / f"{device}.crt"), str(dev / f"{device}.key"))
    try:
        if cmd == "ticket":
            session = http.get(f"{site.url}/api/v1/kiosk/session", timeout=10).json()
            body = {"service": arg or "cash", "session_id": session.get("session_id")}
            reply = http.post(f"{site.url}/api/v1/kiosk/tickets", json=body, timeout=10).json()
            http.post(f"{site.url}/api/v1/kiosk/session/end", timeout=10)
            ticket = reply.get("ticket") or {}
            greeting = session.get("greeting") or {}
            return (
                f"ticket {ticket.get('number')} ({greeting.get('salutation_zh', 'walk-in')}), "
                f"printed: {(reply.get('print') or {}).get('ok')}"
            )
        login = http.post(
            f"{site.url}/api/v1/login", json={"staff_id": f"S-{device}", "pin": PIN}, timeout=30
        ).json()
        http.headers["Authorization"] = f"Bearer {login.get('token')}"
        reply = http.post(f"{site.url}/api/v1/counters/{device}/call-next", timeout=10).json()
        return f"called: {(reply.get('ticket') or {}).get('number') or 'nobody waiting'}"
    except (requests.RequestException, ValueError) as exc:
        return f"{cmd}: the hub did not answer ({type(exc).__name__})"
    finally:
        http.close()


def _interactive(args: argparse.Namespace) -> int:
    from bench.branch_site import PIN, BranchSite, SiteOptions
    from drivers.sim.card import CardIdentity, VirtualCard, VirtualCardDevice, profile
    from drivers.sim.magstripe import card_swipe
    from drivers.sim.pcscd import PcscDaemon

    out: Path = args.out
    shutil.rmtree(out / "branch", ignore_errors=True)
    pcscd: PcscDaemon | None = PcscDaemon(log_path=out / "pcscd.log")
    try:
        pcscd.start()  # type: ignore[union-attr]
    except Exception as exc:  # no pcscd/vpcd: chip cards are off, everything else works
        print(f"demo: no virtual chip-card reader ({exc}); stripe and ID cards still work")
        pcscd = None
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
    chip: VirtualCardDevice | None = None
    try:
        print(f"demo: publishing {args.customers} synthetic customers (HQ) ...", flush=True)
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
        station = site.stations[0]
        while True:
            try:
                words = input("demo> ").split()
            except EOFError:
                break
            if not words:
                continue
            cmd = words[0]
            n = int(words[1]) if len(words) > 1 and words[1].isdigit() else 0
            customer = site.customers[n % len(site.customers)]
            card = customer["cards"][0] if customer["cards"] else None
            if cmd == "quit":
                break
            if cmd == "chip" and card and pcscd is not None:
                if chip is not None:
                    chip.remove()
                ident = CardIdentity(pan=card["pan"], expiry=card["expiry"])
                chip = VirtualCardDevice(VirtualCard(profile("unionpay_debit", ident)))
                chip.insert()
            elif cmd == "pull" and chip is not None:
                chip.remove()
                chip = None
            elif cmd == "card" and card:
                station.msr.swipe(card_swipe(card["pan"], card["expiry"]))
            elif cmd == "id":
                station.idreader.place(
                    0,
                    name=customer["name"],
                    gender=customer["gender"],
                    birth=customer["birth_date"],
                    id_number=customer["id_number"],
                )
            elif cmd == "off":
                station.idreader.remove()
            elif cmd == "paper":
                station.printer.set_fault("paper_end", not station.printer.faults.paper_end)
            elif cmd in ("ticket", "call"):
                print(_as_device(site, cmd, words[1] if len(words) > 1 else ""))
            elif cmd == "log":
                lines = (site.root / "hub.log").read_text(encoding="utf-8").splitlines()
                print(lines[-1] if lines else "")
            else:
                print(HELP if cmd in ("help", "?") else f"{cmd}: not possible now\n{HELP}")
    except KeyboardInterrupt:
        pass
    finally:
        print("\ndemo: stopping ...", flush=True)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if chip is not None:
            with contextlib.suppress(Exception):
                chip.remove()
        if relay is not None:
            relay.stop()
        site.close(keep=True)
        if pcscd is not None:
            pcscd.stop()
        print("demo: stopped")
    return 0


def run_branch(args: argparse.Namespace) -> int:
    """Bring up the simulated branch (headless crowd or interactive)."""
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        return _headless(args) if args.headless else _interactive(args)
    except KeyboardInterrupt:
        print("demo: stopped", file=sys.stderr)
        return 130
