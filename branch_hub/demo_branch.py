"""`./run demo --branch | --headless`: the whole simulated branch on this machine.

HQ's synthetic customers are published as signed bundles and served over HTTPS on loopback; the
real hub process pulls them, drives pty simulators (stripe reader, ID reader, printer) per kiosk
station and sends lead outcomes to HQ's collector. `--headless` runs a scripted crowd (the
branch-day bench at demo speed) and writes rendered tickets and a summary into `--out`;
`--branch` keeps the branch up with a small control prompt. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

__all__ = ["run_branch"]

HELP = """commands:
  card N      swipe customer N's bank card at kiosk K1
  id N        place customer N's resident ID card on K1's reader (remove with: off)
  off         take the ID card off the reader
  paper       toggle 'paper out' on K1's printer
  status      the hub's health (cache sequence, last event)
  quit        stop everything"""


def run_branch(args: argparse.Namespace) -> int:
    """Bring up the simulated branch (headless crowd or interactive prompt)."""
    from bench.branch_day import DayOptions, run_day
    from bench.branch_site import BranchSite, SiteOptions

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.headless:
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
        print(f"demo: a scripted crowd for {args.minutes:.0f} simulated minutes ...", flush=True)
        try:
            result = run_day(opts, folder, keep=True, render_tickets=True)
        except KeyboardInterrupt:
            print("demo: stopped", file=sys.stderr)
            return 130
        tickets = sorted((folder / "tickets").rglob("*.png"))
        summary = {**result, "rendered_tickets": [str(t) for t in tickets[:50]]}
        (out / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        print(
            f"demo: {result['tickets_issued']} tickets, {result['recognised']} customers "
            f"recognised, {len(tickets)} tickets rendered, {result['outcomes_received_at_hq']} "
            f"lead outcomes at HQ; summary in {out / 'summary.json'}"
        )
        return 0 if result["ok"] else 1
    site = BranchSite(
        out / "branch",
        SiteOptions(
            customers=args.customers, stations=1, tablets=2, speed=1.0, render_tickets=True
        ),
    )
    try:
        print("demo: building the branch (HQ data, bundles, certificates) ...", flush=True)
        site.build()
        site.start_collector()
        site.start_hub()
        print(f"demo: hub on {site.url}; tickets render into {out / 'branch' / 'tickets'}")
        print(HELP)
        station = site.stations[0]
        while True:
            try:
                line = input("demo> ").split()
            except EOFError:
                break
            if not line:
                continue
            cmd, arg = line[0], (int(line[1]) if len(line) > 1 and line[1].isdigit() else 0)
            customer = site.customers[arg % len(site.customers)]
            if cmd == "quit":
                break
            if cmd == "card" and customer["cards"]:
                from drivers.sim.magstripe import card_swipe

                card = customer["cards"][0]
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
                faults = station.printer.faults
                station.printer.set_fault("paper_end", not faults.paper_end)
            elif cmd == "status":
                print((site.root / "hub.log").read_text(encoding="utf-8").splitlines()[-1:])
            else:
                print(HELP)
    except KeyboardInterrupt:
        pass
    finally:
        print("demo: stopping ...", flush=True)
        site.close(keep=True)
    return 0
