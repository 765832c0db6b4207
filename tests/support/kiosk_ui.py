"""The kiosk window under Xvfb wired to the real hub, shared by the kiosk UI test modules.

Fixtures `pcscd` and `harness` (import them into the test module), the `Kiosk` driver (touches,
cards, swipes, ID cards, screenshots) and `open_kiosk`, which puts a kiosk view on a running
`RealKioskHub` as `branch-kiosk` would.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drivers.errors import DeviceError, TransportError
from drivers.pcsc.watcher import card_states
from drivers.sim.card import CardIdentity, Fault, VirtualCard, VirtualCardDevice, profile
from drivers.sim.pcscd import PcscDaemon, list_readers
from tests.support.kiosk_real_hub import KIOSK_READER, KIOSK_READER_PORT, RealKioskHub
from tests.support.kivy_harness import Harness, shared_harness
from tests.support.tlsenv import TlsEnv

__all__ = [
    "DOC_SHOTS",
    "LANDSCAPE",
    "PORTRAIT",
    "Kiosk",
    "SharedPcscd",
    "arrivals",
    "assert_private",
    "chip_identity",
    "harness",
    "hub_events",
    "open_kiosk",
    "pcscd",
]

DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LANDSCAPE = (1920, 1080)
PORTRAIT = (1080, 1920)
DIGITS = re.compile(r"\d{6,}")


class SharedPcscd:
    """Use the pcscd that is already serving the vpcd readers (another module's fixture), or
    start one. `PcscDaemon.start()` first kills whatever pcscd its pid file names, which would
    take the daemon away from a fixture that is still using it."""

    def __init__(self, log_path: Path) -> None:
        self.daemon = PcscDaemon(log_path=log_path)

    def start(self) -> None:
        for attempt in range(10):
            if PcscDaemon._ready(list_readers()):
                return
            try:
                self.daemon.start()
            except DeviceError:
                if attempt == 9:
                    raise
                time.sleep(1.0)
            else:
                return

    def stop(self) -> None:
        self.daemon.stop()


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedPcscd]:
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        pytest.skip("pcscd is not installed")
    shared = SharedPcscd(tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    shared.start()
    yield shared
    shared.stop()  # only stops a daemon this module started


@pytest.fixture(scope="module")
def harness() -> Harness:
    h = shared_harness()
    from branch_hub.client.fonts import find_cjk_font
    from kiosk.app import use_font

    use_font(find_cjk_font())
    return h


@dataclass
class Kiosk:
    """A kiosk window wired to the real hub."""

    harness: Harness
    hub: RealKioskHub
    view: Any
    controller: Any
    link: Any
    shots: Path
    customers: list[dict[str, Any]]
    pcscd: Any
    cards: list[VirtualCardDevice] = field(default_factory=list)

    @property
    def phase(self) -> Any:
        return self.controller.flow.state.phase

    def wait_for(self, name: str, timeout_s: float = 10) -> float:
        seen: list[str] = []

        def there() -> bool:
            state = self.controller.flow.state
            if not seen or seen[-1] != state.phase.value:
                seen.append(state.phase.value)  # the screens passed, for the failure's message
            return bool(state.phase.value == name and self.view.rendered_version == state.version)

        try:
            return self.harness.until(there, timeout_s, f"screen {name}")
        except AssertionError as exc:
            state = self.controller.flow.state
            detail = (state.problem, state.error_code)
            raise AssertionError(f"{exc}; screens seen: {' → '.join(seen)}; {detail!r}") from None

    def tap(self, action: str) -> None:
        self.harness.until(
            lambda: action in self.view.buttons, 5, f"button {action} on {self.phase.value}"
        )
        self.harness.tap(self.view.buttons[action])

    def text(self) -> str:
        from kivy.uix.label import Label

        return "\n".join(w.text for w in self.view.walk() if isinstance(w, Label))

    def customer(self, priority: bool) -> dict[str, Any]:
        tiers = {"wealth", "private"} if priority else {"mass", "basic"}
        return next(
            c
            for c in self.customers
            if c["tier"] in tiers and any(card["pan"].startswith("62") for card in c["cards"])
        )

    def insert_card(
        self, customer: dict[str, Any] | CardIdentity, fault: str = "none"
    ) -> VirtualCardDevice:
        """Put a UnionPay chip card (the customer's first 62 card, or `customer`) in the slot."""
        ident = customer if isinstance(customer, CardIdentity) else chip_identity(customer)
        device = VirtualCardDevice(
            VirtualCard(profile("unionpay_debit", ident)), port=KIOSK_READER_PORT
        )
        if fault != "none":
            device.set_fault(Fault(fault), pull_after=2)
        for attempt in range(3):
            try:
                device.insert()
                break
            except TransportError:
                # pcscd is machine-wide; another test process may have restarted it.
                if attempt == 2:
                    raise
                self.pcscd.start()
                time.sleep(1.0)
        self.cards.append(device)
        return device

    def remove_cards(self) -> None:
        """Pull every card, and wait until pcscd and then the hub's reader have seen the slot empty.

        The next test's card carries the same ATR: put in before the hub looked at an empty slot,
        it would pass for the card still sitting there, and nothing would be read.
        """
        if not self.cards:
            return
        for device in self.cards:
            device.remove()
        self.cards.clear()
        for _ in range(100):  # pcscd polls vpcd's slots (every 0.4 s)
            states = card_states()
            if states is not None and states.get(KIOSK_READER) is None:
                break
            time.sleep(0.05)
        watcher = self.hub.lobby.stations["K1"].card_watcher
        if watcher is not None:
            watcher.await_looks(2, 5.0)

    def shoot(self, name: str, portrait_too: bool = False) -> None:
        sizes = [("landscape", LANDSCAPE)] + ([("portrait", PORTRAIT)] if portrait_too else [])
        for orientation, size in sizes:
            self._shot(f"kiosk-{name}-{orientation}.png", size)
        self.harness.resize(LANDSCAPE)

    def shoot_as(self, filename: str, size: tuple[int, int]) -> None:
        """A screenshot named `filename` at `size` (also into docs/ for `./run screenshots`)."""
        self._shot(filename, size)
        self.harness.resize(LANDSCAPE)

    def _shot(self, filename: str, size: tuple[int, int]) -> None:
        self.harness.resize(size)
        path = self.harness.screenshot(self.shots / filename)
        assert path.stat().st_size > 10_000
        if os.environ.get("BRANCH_EDGE_SCREENSHOTS") == "docs":  # ./run screenshots
            self.harness.screenshot(DOC_SHOTS / path.name)


def chip_identity(customer: dict[str, Any]) -> CardIdentity:
    """The customer's first UnionPay (62...) card as the chip simulator's identity."""
    pan_card = next(card for card in customer["cards"] if card["pan"].startswith("62"))
    return CardIdentity(pan=pan_card["pan"], expiry=pan_card["expiry"])


@contextmanager
def open_kiosk(
    harness: Harness,
    hub: RealKioskHub,
    tls: TlsEnv,
    pcscd: Any,
    rows: list[dict[str, Any]],
    shots: Path,
    timeouts: Any,
) -> Iterator[Kiosk]:
    """A kiosk view (station K1's certificate) on the started `hub`, shown on attract."""
    from branch_hub.client import Backoff, DeviceTls, HubClient
    from kiosk.app import KioskView
    from kiosk.flow import Flow
    from kiosk.link import Controller, HubLink

    cert, key = tls.client("K1", "kiosk")
    link = HubLink(HubClient(hub.url, DeviceTls(cert, key, tls.ca_path), timeout_s=3))
    link.stream.backoff = Backoff(first=0.1, cap=0.5)
    controller = Controller(Flow(timeouts=timeouts), link.inbox, link.submit)
    view = KioskView(controller)
    harness.show(view, LANDSCAPE)
    link.start()
    k = Kiosk(harness, hub, view, controller, link, shots, rows, pcscd)
    try:
        k.wait_for("attract")
        yield k
    finally:
        k.remove_cards()
        view.stop()
        link.stop()


def hub_events(kiosk: Kiosk) -> list[Any]:
    """The hub's events so far (from its event log)."""
    hub = kiosk.hub.running
    assert hub is not None

    async def read() -> list[Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, hub.hub.stream.log.since, 0, 500)

    events: list[Any] = kiosk.hub.call(read())
    return events


def arrivals(kiosk: Kiosk) -> list[dict[str, Any]]:
    """The hub's arrival events so far."""
    return [e.data for e in hub_events(kiosk) if e.kind == "arrival"]


def assert_private(kiosk: Kiosk, customer: dict[str, Any]) -> None:
    text = kiosk.text()
    assert customer["name"] not in text
    assert not DIGITS.search(text), "a long number is on screen"
