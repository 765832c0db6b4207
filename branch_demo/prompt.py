"""The demo's prompt: insert, swipe and place a synthetic customer's cards; act as K1 or a teller."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import requests

from branch_demo.site_files import PIN
from drivers.sim.card import CardIdentity, VirtualCard, VirtualCardDevice, profile
from drivers.sim.magstripe import card_swipe

if TYPE_CHECKING:
    from branch_demo.site import BranchSite

__all__ = ["HELP", "Prompt"]

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


def _as_device(site: BranchSite, cmd: str, arg: str) -> str:
    """Act as K1's touchscreen (ticket) or a counter's teller (call) over mTLS."""
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


class Prompt:
    """Read commands from stdin and act on the simulated branch's first kiosk station."""

    def __init__(self, site: BranchSite, *, chip_reader: bool) -> None:
        self.site = site
        self.chip_reader = chip_reader
        self.chip: VirtualCardDevice | None = None

    def run(self) -> None:
        """Read commands until `quit` or end of input."""
        while True:
            try:
                words = input("demo> ").split()
            except EOFError:
                return
            if words and words[0] == "quit":
                return
            if words:
                self.handle(words[0], words[1:])

    def handle(self, cmd: str, rest: list[str]) -> None:
        """Carry out one command (N picks synthetic customer number N)."""
        n = int(rest[0]) if rest and rest[0].isdigit() else 0
        customer = self.site.customers[n % len(self.site.customers)]
        card = customer["cards"][0] if customer["cards"] else None
        station = self.site.stations[0]
        if cmd == "chip" and card and self.chip_reader:
            self._insert_chip(card)
        elif cmd == "pull" and self.chip is not None:
            self.chip.remove()
            self.chip = None
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
            print(_as_device(self.site, cmd, rest[0] if rest else ""))
        elif cmd == "log":
            lines = (self.site.root / "hub.log").read_text(encoding="utf-8").splitlines()
            print(lines[-1] if lines else "")
        else:
            print(HELP if cmd in ("help", "?") else f"{cmd}: not possible now\n{HELP}")

    def _insert_chip(self, card: dict[str, Any]) -> None:
        if self.chip is not None:
            self.chip.remove()
        ident = CardIdentity(pan=card["pan"], expiry=card["expiry"])
        self.chip = VirtualCardDevice(VirtualCard(profile("unionpay_debit", ident)))
        self.chip.insert()

    def close(self) -> None:
        """Take out a chip card still in the reader."""
        if self.chip is not None:
            with contextlib.suppress(Exception):
                self.chip.remove()
