"""The report through both device clients against the real hub: typed, the same, refusals typed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from branch_hub.client import AsyncHubClient, DeviceTls, HubClient, HubProtocolError, HubRejected
from tests.support.hub_thread import ThreadedHub
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


@pytest.fixture
def hub(tmp_path: Path, tls: TlsEnv) -> Iterator[ThreadedHub]:
    running = ThreadedHub(tmp_path / "hub", tls).start()
    try:
        yield running
    finally:
        running.close()


def test_both_clients_read_the_lobby_managers_report(hub: ThreadedHub, tls: TlsEnv) -> None:
    cert, key = tls.client("tab-1", "tablet")
    token = hub.login("tab-1")
    sync = HubClient(hub.url, DeviceTls(cert, key, tls.ca_path), token=token)
    month = sync.branch_report("month")
    assert month.period == "month"
    assert month.staff is None  # the lobby manager gets no staff table
    assert month.arrivals.total == 0
    with pytest.raises(HubRejected) as caught:
        sync.branch_report("day", "2999-01-01")
    assert (caught.value.status, caught.value.code) == (400, "bad_report_period")
    with pytest.raises(HubProtocolError):
        sync.branch_report("year")  # type: ignore[arg-type]

    async def scenario() -> None:
        client = AsyncHubClient(hub.url, DeviceTls(cert, key, tls.ca_path), token=token)
        try:
            day = await client.branch_report("day", month.first_day)
            again = sync.branch_report("day", month.first_day)
            assert dataclasses.replace(day, generated_at="") == dataclasses.replace(
                again, generated_at=""
            )
        finally:
            await client.close()

    asyncio.run(scenario())
