"""Session-wide pcscd with the vpcd readers, and a virtual card in reader 'Virtual PCD 00 00'.

Use from a test module: `from tests import pcsc_fixture` then `pcscd = pcsc_fixture.pcscd`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.sim.card import VirtualCard, VirtualCardDevice, profile
from drivers.sim.pcscd import PcscDaemon
from tests.sim_identities import synthetic_card

READER = "Virtual PCD 00 00"


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscDaemon]:
    """A running pcscd (started here, or an already running one that lists vpcd's readers)."""
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        pytest.skip("pcscd is not installed")
    pytest.importorskip("smartcard")
    daemon = PcscDaemon(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    daemon.start()
    yield daemon
    daemon.stop()


def wait_reader_state(present: bool, timeout: float = 5.0) -> None:
    """Wait until the vpcd reader shows (or no longer shows) a card."""
    from drivers.pcsc.watcher import _Context

    ctx = _Context()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            snap = ctx.snapshot() if ctx.ensure() else None
            if snap is None:
                ctx.drop()
            elif (snap.get(READER) is not None) == present:
                return
            time.sleep(0.05)
    finally:
        ctx.drop()
    raise AssertionError(f"reader did not become {'present' if present else 'empty'}")


def make_card(name: str = "unionpay_debit", seed: int = 3) -> VirtualCardDevice:
    """A virtual card device (not yet inserted)."""
    return VirtualCardDevice(VirtualCard(profile(name, synthetic_card(seed))))
