"""Slow and greedy clients against the real hub on loopback over real TLS.

An attacker on the branch LAN trickles request headers or a body, or opens more connections than
its share; each is cut or refused within the configured limits (1 s here) while an enrolled
device still gets its answers and a logged-in tablet's event stream stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from branch_hub.alerts import Alert
from branch_hub.api.connections import ConnectionLimits
from branch_hub.api.logflood import LogFloodFilter, install_flood_filter
from branch_hub.config import ConfigError, parse_config
from branch_hub.vocabulary import HubAlertKind
from tests.support.securehub import client, device_context, login, secure_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

LIMITS: dict[str, object] = {
    "tls_handshake_timeout_s": 3.0,
    "header_timeout_s": 1.0,
    "body_timeout_s": 1.0,
    "keepalive_timeout_s": 2.0,
    "max_connections_per_address": 8,
}
CLOSED_WITHIN_S = 6.0  # generous bound for a 1 s limit on 2 shared cores
ATTACKER = "127.0.0.2"


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def _open_tls(
    port: int, context: ssl.SSLContext, source: str = ATTACKER
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1", local_addr=(source, 0)
    )


async def _closed_after(reader: asyncio.StreamReader, bound_s: float) -> float:
    """Seconds until the hub closes the connection (reads whatever it sent until then)."""
    start = time.monotonic()
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while await asyncio.wait_for(reader.read(4096), bound_s):
            pass
    return time.monotonic() - start


async def _trickle(writer: asyncio.StreamWriter, data: bytes, every_s: float = 0.1) -> None:
    """Send `data` a byte at a time; stop quietly once the hub closed the connection."""
    with contextlib.suppress(ConnectionError, ssl.SSLError, RuntimeError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every_s)


async def _health(tls: TlsEnv, url: str, hub: Any) -> dict[str, Any]:
    async with (
        client(tls, "TAB-OK", "tablet", hub) as device,
        device.get(f"{url}/api/v1/health") as r,
    ):
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


def test_slow_headers_and_a_slow_body_are_cut(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tls = make_tls_env(tmp_path / "pki")
    caplog.set_level(logging.INFO)
    anonymous = device_context(tls)

    async def main() -> None:
        async with secure_hub(tmp_path / "hub", tls, hub_settings=LIMITS) as (hub, url):
            port = _port(url)
            reader, writer = await _open_tls(port, anonymous)
            headers = b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\nX-Slow: " + b"a" * 200
            sender = asyncio.create_task(_trickle(writer, headers))
            assert await _closed_after(reader, CLOSED_WITHIN_S) < CLOSED_WITHIN_S
            sender.cancel()
            writer.close()

            tablet = device_context(tls, "TAB-SLOW", "tablet", hub)
            reader, writer = await _open_tls(port, tablet)
            writer.write(
                b"POST /api/v1/login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
                b"Content-Length: 400\r\n\r\n"
            )
            sender = asyncio.create_task(_trickle(writer, b"{" + b" " * 399))
            assert await _closed_after(reader, CLOSED_WITHIN_S) < CLOSED_WITHIN_S
            sender.cancel()
            writer.close()
            reader, writer = await _open_tls(port, anonymous)  # one request, then idle
            writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\n\r\n")
            assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 ")
            assert await _closed_after(reader, CLOSED_WITHIN_S) < CLOSED_WITHIN_S
            writer.close()
            health = await _health(tls, url, hub)
        assert health["connections_timed_out"] == 2, health  # an idle close is no timeout

    asyncio.run(main())
    # The handler reading the cut body is not an internal error (it used to log a traceback).
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_over_cap_connections_are_refused_and_a_device_still_gets_in(tmp_path: Path) -> None:
    tls = make_tls_env(tmp_path / "pki")
    extra = 5

    async def main() -> None:
        async with secure_hub(tmp_path / "hub", tls, hub_settings=LIMITS) as (hub, url):
            port = _port(url)
            held = [await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))]
            for _ in range(7):  # silent: each sits in its TLS handshake, counted from accept
                held.append(
                    await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
                )
            await asyncio.sleep(0.2)
            for _ in range(extra):
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(ATTACKER, 0)
                )
                assert await _closed_after(reader, CLOSED_WITHIN_S) < CLOSED_WITHIN_S
                writer.close()
            health = await _health(tls, url, hub)  # from 127.0.0.1: its own share
            for _, writer in held:
                writer.close()
        assert health["connections_refused"] == extra, health

    asyncio.run(main())


def test_an_event_stream_outlives_the_header_and_idle_limits(tmp_path: Path) -> None:
    tls = make_tls_env(tmp_path / "pki")

    async def main() -> None:
        async with secure_hub(tmp_path / "hub", tls, hub_settings=LIMITS) as (hub, url):
            async with client(tls, "TAB-1", "tablet", hub) as tablet:
                status, body = await login(tablet, url)
                assert status == 200, body
                headers = {"Authorization": f"Bearer {body['token']}"}
                async with tablet.ws_connect(f"{url}/api/v1/events", headers=headers) as ws:
                    await asyncio.sleep(3.0)  # past the header (1 s) and idle (2 s) limits
                    assert not ws.closed
                    alert = Alert(HubAlertKind.DISK_LOW, "disk", "disk low", "磁盘空间不足")
                    await hub.alerts.raise_alert(alert)
                    kinds = []
                    while "hub_alert" not in kinds:
                        message = await asyncio.wait_for(ws.receive_json(), 5)
                        kinds.append(message.get("kind") or message.get("type"))
            health = await _health(tls, url, hub)
        assert health["connections_timed_out"] == 0, health

    asyncio.run(main())


def _garbage(port: int, index: int, context: ssl.SSLContext) -> None:
    """One connection that breaks in one of four ways."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        if index % 4 == 0:  # not TLS at all
            raw.sendall(b"\x16\x03\x01\x00\x05hello" + bytes(range(64)))
            with contextlib.suppress(OSError):
                raw.recv(64)
            return
        if index % 4 == 1:  # a reset in the middle of the handshake
            raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            if index % 4 == 2:  # a header line no parser takes
                tls.sendall(b"GET / HTTP/1.1\r\nHost: hub\r\nBad\x00Header: x\r\n\r\n")
                with contextlib.suppress(OSError):
                    tls.recv(1024)
            else:  # a reset in the middle of a request's body
                tls.sendall(
                    b"POST /api/v1/login HTTP/1.1\r\nHost: hub\r\nContent-Length: 99\r\n\r\n{"
                )
                raw.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )


def test_garbage_connections_write_a_bounded_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tls = make_tls_env(tmp_path / "pki")
    anonymous = device_context(tls)
    tries = 200
    caplog.set_level(logging.INFO)

    async def main() -> dict[str, Any]:
        settings = {**LIMITS, "max_connections_per_address": 1000}
        async with secure_hub(tmp_path / "hub", tls, hub_settings=settings) as (hub, url):
            for index in range(tries):
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(_garbage, _port(url), index, anonymous)
            await asyncio.sleep(0.5)
            return await _health(tls, url, hub)

    flood = install_flood_filter()  # the process's one filter, which the hub installed
    held_before = flood.held_total
    health = asyncio.run(main())
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert health["tls_handshakes_failed"] >= tries // 4, health
    # Without the filter: 50 ERROR lines with a traceback each (one per unparsable header).
    assert len(loud) <= 4, [r.getMessage()[:100] for r in loud]
    assert flood.held_total - held_before >= tries // 4 - 1
    flood.report()
    summary = caplog.records[-1].getMessage()
    assert summary.startswith("held back "), summary
    assert "Error handling request" in summary, summary


def test_the_flood_filter_passes_one_line_per_kind_a_minute_and_says_how_many_it_held() -> None:
    now = [0.0]
    flood = LogFloodFilter(clock=lambda: now[0])

    def record(message: str, peer: str) -> logging.LogRecord:
        return logging.LogRecord("aiohttp.server", logging.ERROR, "x", 1, message, (peer,), None)

    passed = []
    for at in (0.0, 1.0, 30.0, 59.0, 61.0):
        now[0] = at
        for peer in ("10.0.0.1", "10.0.0.2"):
            passed.append(flood.filter(record("Error handling request from %s", peer)))
    assert passed.count(True) == 2  # at 0 s and at 61 s, whichever peer
    assert flood.filter(logging.LogRecord("asyncio", logging.INFO, "x", 1, "fine", (), None))
    assert flood.report() == 8
    assert flood.report() == 0


def test_the_limits_come_from_the_hub_table_and_are_checked(sample_config_path: Path) -> None:
    data = tomllib.loads(sample_config_path.read_text(encoding="utf-8"))
    data["hub"].update(header_timeout_s=2.5, max_connections_per_address=9)
    limits = ConnectionLimits.from_settings(parse_config(data).hub)
    assert (limits.header_timeout_s, limits.per_address) == (2.5, 9)
    data["hub"]["header_timeout_s"] = 0
    with pytest.raises(ConfigError, match=r"hub\.header_timeout_s"):
        parse_config(data, "hub.toml")
