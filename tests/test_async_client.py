"""The async wire client and the tablet's hub worker on one asyncio loop, against the real hub."""

from __future__ import annotations

import asyncio
import queue
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from branch_hub.client import (
    AsyncHubClient,
    DeviceTls,
    HubClient,
    HubRejected,
    HubUnavailable,
    StreamNotice,
)
from tablet.worker import HubWorker
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


def device(tls: TlsEnv, device_id: str = "tab-1") -> DeviceTls:
    cert, key = tls.client(device_id, "tablet")
    return DeviceTls(cert, key, tls.ca_path)


def test_same_answers_and_typed_errors_as_the_sync_client(
    hub: ThreadedHub, tls: TlsEnv, tmp_path: Path
) -> None:
    token = hub.login("tab-1")
    sync = HubClient(hub.url, device(tls), token=token)

    async def scenario() -> None:
        client = AsyncHubClient(hub.url, device(tls), token=token)
        try:
            assert await client.health() == sync.health()
            assert await client.visits("all") == sync.visits("all")
            with pytest.raises(HubRejected) as caught:
                await client.get("/events?since=abc")
            assert (caught.value.status, caught.value.code) == (400, "bad_since")
        finally:
            await client.close()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            free_port = sock.getsockname()[1]
        for url, tls_files in (
            (f"https://127.0.0.1:{free_port}", device(tls)),
            (hub.url, device(make_tls_env(tmp_path / "other", "OTHER-BR"))),  # another branch
        ):
            stranger = AsyncHubClient(url, tls_files, timeout_s=2)
            with pytest.raises(HubUnavailable):
                await stranger.health()
            await stranger.close()

    asyncio.run(scenario())


def test_stream_and_hub_calls_as_tasks_on_one_loop(hub: ThreadedHub, tls: TlsEnv) -> None:
    """The tablet's way: its event stream and its jobs (async, and a sync client's call in the
    loop's executor) all on the one loop, answers in the order the jobs were given."""
    token = hub.login("tab-1")
    inbox: queue.Queue[tuple[str, Any]] = queue.Queue()

    async def scenario() -> list[tuple[str, Any]]:
        client = AsyncHubClient(hub.url, device(tls), token=token)
        sync = HubClient(hub.url, device(tls), token=token)
        connected = asyncio.Event()

        def on_notice(notice: StreamNotice) -> None:
            if notice.kind == "connected":
                connected.set()

        stream = client.staff_events(hub.last_seq(), on_notice)
        stream.start_on(asyncio.get_running_loop())
        worker = HubWorker(inbox, asyncio.get_running_loop())
        worker.submit("async", client.health)
        worker.submit("sync", sync.health)  # as other commands still are
        worker.submit("refused", lambda: sync.get("/no/such/thing"))
        await worker.drain(10)
        await asyncio.wait_for(connected.wait(), 10)  # on this loop: no thread hop
        assert stream.connected
        stream.stop()
        await client.close()
        return [inbox.get_nowait() for _ in range(3)]

    answers = asyncio.run(scenario())
    assert [(kind, tag) for kind, (tag, _) in answers] == [
        ("done", "async"),
        ("done", "sync"),
        ("failed", "refused"),
    ]
    assert answers[0][1][1] == answers[1][1][1]
    assert isinstance(answers[2][1][1], HubRejected)
