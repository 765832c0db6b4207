"""The shared wire client against the real hub app over mutual TLS on loopback."""

from __future__ import annotations

import queue
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from branch_hub.client import (
    Backoff,
    DeviceTls,
    EventStream,
    HubClient,
    HubError,
    HubRejected,
    HubUnavailable,
    StreamNotice,
)
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


def device(tls: TlsEnv, device_id: str = "tab-1", kind: str = "tablet") -> DeviceTls:
    cert, key = tls.client(device_id, kind)
    return DeviceTls(cert, key, tls.ca_path)


def next_notice(stream: EventStream, kind: str, timeout_s: float = 10) -> StreamNotice:
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {kind} notice within {timeout_s}s"
        notice = stream.notices.get(timeout=remaining)
        if notice.kind == kind:
            return notice


def test_rest_success_and_typed_rejection(hub: ThreadedHub, tls: TlsEnv) -> None:
    client = HubClient(hub.url, device(tls), token=hub.login("tab-1"))
    assert client.health().status == "ok"
    with pytest.raises(HubRejected) as caught:
        client.get("/events?since=abc")
    assert (caught.value.status, caught.value.code) == (400, "bad_since")
    assert "whole number" in caught.value.message
    with pytest.raises(HubRejected) as missing:
        client.get("/no/such/thing")
    assert missing.value.status == 404


def test_unreachable_and_untrusted_hubs_are_unavailable(
    hub: ThreadedHub, tls: TlsEnv, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    with pytest.raises(HubUnavailable):
        HubClient(f"https://127.0.0.1:{free_port}", device(tls), timeout_s=2).health()
    # A device of another branch: its CA does not match, so TLS fails both ways.
    other = make_tls_env(tmp_path / "other", "OTHER-BR")
    with pytest.raises(HubUnavailable):
        HubClient(hub.url, device(other), timeout_s=2).health()


def test_bad_configuration_is_a_hub_error(tls: TlsEnv, tmp_path: Path) -> None:
    with pytest.raises(HubError, match="https://"):
        HubClient("http://127.0.0.1:1", device(tls))
    with pytest.raises(HubError, match="client key"):
        HubClient("https://127.0.0.1:1", DeviceTls(tls.ca_path, tmp_path / "nope.key", tls.ca_path))


def test_backoff_grows_caps_and_resets() -> None:
    backoff = Backoff(first=0.5, cap=4, jitter=0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]
    backoff.reset()
    assert backoff.next() == 0.5
    jittered = Backoff(first=1, cap=1, jitter=0.2)
    assert all(0.8 <= jittered.next() <= 1.2 for _ in range(50))


def test_stream_resumes_with_since_across_a_hub_restart(hub: ThreadedHub, tls: TlsEnv) -> None:
    base = hub.last_seq()  # what the hub said at start (its cache's staleness)
    client = HubClient(hub.url, device(tls), token=hub.login("tab-1"))
    stream = EventStream(
        client,
        "/events",
        resume=True,
        since=base,
        backoff=Backoff(first=0.1, cap=0.5),
    ).start()
    try:
        next_notice(stream, "connected")
        assert next_notice(stream, "message").data == {"type": "live", "seq": base}
        for i in range(3):
            hub.emit("arrival", {"n": i})
        seen = [next_notice(stream, "message").data for _ in range(3)]
        assert [m["seq"] - base for m in seen] == [1, 2, 3]
        hub.stop()
        assert next_notice(stream, "disconnected").kind == "disconnected"
        assert not stream.connected
        hub.start()  # same port, same database; sessions live in memory: log in again
        client.token = hub.login("tab-1")
        written = [hub.emit("called", {"n": i}) for i in range(3, 5)]  # before the device is back
        next_notice(stream, "connected")
        got = []
        while not got or got[-1]["type"] != "live":
            got.append(next_notice(stream, "message").data)
        replay = [m for m in got if m.get("kind") != "cache_stale"]
        assert [m["type"] for m in replay] == ["event", "event", "live"]
        assert [m["seq"] for m in replay[:2]] == written
        assert replay[0]["seq"] > seen[-1]["seq"]
        assert stream.last_seq == replay[-1]["seq"] >= written[-1]
    finally:
        stream.stop()


def test_stream_callback_and_resync_when_hub_log_is_behind(hub: ThreadedHub, tls: TlsEnv) -> None:
    got: queue.Queue[StreamNotice] = queue.Queue()
    stream = EventStream(
        HubClient(hub.url, device(tls), token=hub.login("tab-1")),
        "/events",
        resume=True,
        since=42,
        on_notice=got.put,
        backoff=Backoff(first=0.1, cap=0.2),
    ).start()
    try:
        kinds = []
        deadline = time.monotonic() + 10
        while "resync" not in kinds and time.monotonic() < deadline:
            kinds.append(got.get(timeout=10).kind)
        assert "resync" in kinds
        assert stream.last_seq == hub.last_seq()  # starts again from the hub's end of log
        while True:
            notice = got.get(timeout=10)
            if notice.kind == "message":
                assert notice.data == {"type": "live", "seq": hub.last_seq()}
                break
    finally:
        stream.stop()


def test_stream_with_unusable_key_reports_instead_of_dying(tls: TlsEnv, tmp_path: Path) -> None:
    cert, _key = tls.client("tab-9", "tablet")
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("not a key")
    client = HubClient("https://127.0.0.1:1", DeviceTls(cert, bad_key, tls.ca_path))
    stream = EventStream(client, "/events").start()
    try:
        notice = next_notice(stream, "disconnected", 5)
        assert "cannot load the device TLS files" in notice.data["reason"]
    finally:
        stream.stop()
