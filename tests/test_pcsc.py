"""Device tests on the real stack: pcscd + vpcd + virtual cards; faults and recovery."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from drivers.events import DeviceEvent, EventKind
from drivers.pcsc import CardWatcher, FailReason, asyncio_sink, read_card, wait_for_card
from drivers.sim.card import PROFILES
from drivers.sim.pcscd import PcscDaemon
from tests import pcsc_fixture
from tests.pcsc_fixture import READER, make_card, wait_reader_state
from tests.sim_identities import synthetic_card

pytestmark = pytest.mark.pcsc
pcscd = pcsc_fixture.pcscd


@pytest.mark.parametrize("name", PROFILES)
def test_read_each_profile(pcscd: PcscDaemon, name: str) -> None:
    card = make_card(name)
    card.insert()
    try:
        assert wait_for_card("Virtual PCD 00 00", 5) == READER
        got = read_card(READER, 5)
        assert got.pan == synthetic_card(3).pan
    finally:
        card.remove()
        wait_reader_state(False)


def test_cli_read_card(pcscd: PcscDaemon) -> None:
    card = make_card("t0")
    card.insert()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "drivers", "read-card", "--reader", "PCD 00 00", "--timeout", "5"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
    finally:
        card.remove()
        wait_reader_state(False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    ident = synthetic_card(3)
    assert out == {
        "kind": "bank_card",
        "pan": ident.pan,
        "expiry": ident.expiry,
        "aid": "A000000333010101",
        "label": "PBOC DEBIT",
        "name": None,
        "holder_id": ident.holder_id,
    }


def test_cli_read_card_times_out_without_card(pcscd: PcscDaemon) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "drivers", "read-card", "--reader", "PCD 00 01", "--timeout", "0.5"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == ["drivers: error: no card presented within 0.5 s"]


class Events:
    """Collect watcher events from its thread."""

    def __init__(self) -> None:
        self.q: queue.Queue[DeviceEvent] = queue.Queue()

    def __call__(self, event: DeviceEvent) -> None:
        self.q.put(event)

    def wait(
        self,
        kind: EventKind,
        timeout: float = 8.0,
        when: Callable[[DeviceEvent], bool] | None = None,
    ) -> DeviceEvent:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                ev = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(ev.kind)
            if ev.kind == kind and (when is None or when(ev)):
                return ev
        raise AssertionError(f"no {kind} event; saw {seen}")


@pytest.fixture
def watched(pcscd: PcscDaemon) -> Iterator[tuple[CardWatcher, Events]]:
    events = Events()
    watcher = CardWatcher(events, reader_filter="PCD 00 00", poll_interval=0.05, read_timeout=1.5)
    with watcher:
        events.wait(EventKind.reader_added)
        yield watcher, events


def _on_reader(ev: DeviceEvent) -> bool:
    return getattr(ev.payload, "reader", ev.payload) == READER


def test_watcher_insert_read_remove(watched: tuple[CardWatcher, Events]) -> None:
    _, events = watched
    card = make_card("contactless")
    card.insert()
    events.wait(EventKind.card_inserted)
    read = events.wait(EventKind.card_read).payload
    assert read.pan == synthetic_card(3).pan
    assert read.source == "ppse"
    card.remove()
    events.wait(EventKind.card_removed)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("mute", FailReason.timeout),
        ("pull", FailReason.card_removed),
        ("wrong_sw", FailReason.card_error),
    ],
)
def test_watcher_faults(
    watched: tuple[CardWatcher, Events], fault: str, reason: FailReason
) -> None:
    _, events = watched
    card = make_card("t0")
    card.set_fault(fault, pull_after=5)
    card.insert()
    events.wait(EventKind.card_inserted)
    failed = events.wait(EventKind.read_failed).payload
    assert failed.reason is reason, failed
    card.remove()
    events.wait(EventKind.card_removed, when=_on_reader)
    wait_reader_state(False)
    # The same watcher reads the next good card: nothing had to be restarted.
    card.set_fault("none")
    card.insert()
    assert events.wait(EventKind.card_read).payload.pan == synthetic_card(3).pan
    card.remove()
    events.wait(EventKind.card_removed)
    wait_reader_state(False)


def test_watcher_survives_pcscd_restart(
    watched: tuple[CardWatcher, Events], pcscd: PcscDaemon
) -> None:
    if not pcscd.owned:
        pytest.skip("a system pcscd is in use; not killing it")
    _, events = watched
    card = make_card("unionpay_debit")
    card.insert()
    events.wait(EventKind.card_read)
    card.remove()
    pcscd.kill()
    events.wait(EventKind.device_fault)
    events.wait(EventKind.reader_removed)
    pcscd.start()
    events.wait(EventKind.device_recovered)
    events.wait(EventKind.reader_added)
    card.insert()
    assert events.wait(EventKind.card_read).payload.pan == synthetic_card(3).pan
    card.remove()
    events.wait(EventKind.card_removed)
    wait_reader_state(False)


def test_events_into_asyncio_queue(pcscd: PcscDaemon) -> None:
    async def main() -> list[EventKind]:
        q: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        watcher = CardWatcher(
            asyncio_sink(asyncio.get_running_loop(), q),
            reader_filter="PCD 00 00",
            poll_interval=0.05,
        )
        card = make_card("no_pse")
        kinds: list[EventKind] = []
        with watcher:
            card.insert()
            try:
                while EventKind.card_read not in kinds:
                    kinds.append((await asyncio.wait_for(q.get(), 8)).kind)
            finally:
                card.remove()
        return kinds

    kinds = asyncio.run(main())
    wait_reader_state(False)
    assert kinds[-2:] == [EventKind.card_inserted, EventKind.card_read]


def test_sim_card_command_and_control_socket(pcscd: PcscDaemon) -> None:
    import socket

    proc = subprocess.Popen(
        [sys.executable, "-m", "drivers", "sim", "card", "--profile", "no_pse", "--duration", "20"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        wait_for_card("PCD 00 00", 5)
        assert read_card(READER, 5).aid == "A000000333010102"
        with socket.create_connection(("127.0.0.1", info["control_port"]), timeout=5) as s:
            f = s.makefile("rw")
            f.write("remove\n")
            f.flush()
            assert f.readline().startswith("ok inserted=0")
        wait_reader_state(False)
    finally:
        proc.terminate()
        proc.wait(10)
