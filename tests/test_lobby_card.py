"""End to end with a real pcscd and a vpcd virtual bank card: insert -> recognised -> ticket -> arrival."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from drivers.sim.card import CardIdentity, VirtualCard, VirtualCardDevice, profile
from drivers.sim.pcscd import PcscDaemon, list_readers
from tests.pcsc_fixture import READER
from tests.support.lobbyenv import BuiltCache, branch_config, build_cache, running_hub
from tests.support.tlsenv import make_tls_env

pytestmark = pytest.mark.pcsc


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """pcscd for this module: adopt one that already lists the vpcd reader, else start and stop
    our own. (A second PcscDaemon.start() in the same session would kill the first one's
    daemon through the shared PID file.)"""
    pytest.importorskip("smartcard")
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        pytest.skip("pcscd is not installed")
    if READER in (list_readers() or []):
        yield None
        return
    daemon = PcscDaemon(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    daemon.start()
    try:
        yield None
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> BuiltCache:
    return build_cache(tmp_path_factory.mktemp("card-cache"))


def test_virtual_card_arrival_end_to_end(tmp_path: Path, cache: BuiltCache, pcscd: None) -> None:
    customer = next(
        c
        for c in cache.customers
        if c["tier"] in {"wealth", "private"} and any(k["pan"].startswith("62") for k in c["cards"])
    )
    card = next(k for k in customer["cards"] if k["pan"].startswith("62"))
    device = VirtualCardDevice(
        VirtualCard(
            profile(
                "unionpay_debit",
                CardIdentity(
                    pan=card["pan"], expiry=card["expiry"], holder_id=customer["id_number"]
                ),
            )
        )
    )
    tls = make_tls_env(tmp_path / "pki")
    config = branch_config(card_reader="sim://card", printer="sim://printer")

    async def scenario() -> None:
        async with running_hub(tmp_path / "hub", tls, config, cache) as run:
            kiosk = tls.client_context("K1", "kiosk")
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(f"{run.url}/api/v1/kiosk/events", ssl=kiosk) as kws,
                http.ws_connect(f"{run.url}/api/v1/events", **run.stream()) as tws,
            ):
                await kws.receive_json()
                await tws.receive_json()
                await asyncio.to_thread(device.insert)
                kinds = []
                async with asyncio.timeout(15):
                    while True:
                        msg = await kws.receive_json()
                        kinds.append(msg["kind"])
                        if msg["kind"] == "kiosk.session" and msg["data"]["state"] not in (
                            "reading",
                            "idle",
                        ):
                            session = msg["data"]
                            break
                assert kinds[0] == "kiosk.card_sensed"
                assert session["state"] == "recognised", session
                assert session["greeting"]["priority"] is True
                await asyncio.to_thread(device.remove)
                async with http.post(
                    f"{run.url}/api/v1/kiosk/tickets",
                    json={"service": "cash", "session_id": session["session_id"]},
                    ssl=kiosk,
                ) as resp:
                    assert resp.status == 201
                    issued = await resp.json()
                assert issued["print"]["ok"] is True
                async with asyncio.timeout(10):
                    while True:
                        msg = await tws.receive_json()
                        if msg.get("kind") == "arrival":
                            break
                assert msg["data"]["priority"] is True
                assert card["pan"] not in json.dumps(msg)
                printer = run.lobby.stations["K1"].sims["printer"]
                assert await asyncio.to_thread(printer.wait_tickets, 1, 5.0)
                assert printer.tickets[0].png is not None
                assert printer.tickets[0].png.exists()

    try:
        asyncio.run(scenario())
    finally:
        device.remove()
