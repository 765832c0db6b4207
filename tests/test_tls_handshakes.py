"""Failed TLS handshakes against the real hub: counted on /health, logged once a minute per peer.

A client presenting a certificate from another CA (the hub refuses it in the handshake) tries
several times from 127.0.0.1 and from 127.0.0.2; the hub logs one line per peer address, its
`tls_handshakes_failed` figure counts every try, and a good device still gets its answer.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from pathlib import Path

import pytest

from branch_hub.api.handshakes import HandshakeWatch
from tests.support.securehub import client, secure_hub
from tests.support.tlsenv import TlsEnv, make_tls_env

TRIES = 4  # per peer address
LOGGER = "branch_hub.api.tls"


def _foreign_try(port: int, source: str, hub_ca: Path, foreign: TlsEnv) -> None:
    """One handshake with a certificate the hub does not trust; the hub must refuse it."""
    context = ssl.create_default_context(cafile=str(hub_ca))
    cert, key = foreign.client("TAB-FOREIGN", "tablet")
    context.load_cert_chain(str(cert), str(key))
    with socket.create_connection(
        ("127.0.0.1", port), timeout=5, source_address=(source, 0)
    ) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                # TLS 1.3: the client finishes first and hears the refusal on its first read
                tls.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: hub\r\n\r\n")
                answer = tls.recv(1024)
        except (ssl.SSLError, ConnectionError):
            return
    if answer == b"":  # asyncio closes a refused handshake without sending the alert
        return
    raise AssertionError(f"the hub accepted a foreign certificate: {answer[:60]!r}")


def test_failed_handshakes_are_counted_and_logged_once_per_peer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tls = make_tls_env(tmp_path / "pki")
    foreign = make_tls_env(tmp_path / "other-pki", branch_id="OTHER-BR")
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def main() -> None:
        async with secure_hub(tmp_path / "hub", tls) as (hub, url):
            port = int(url.rsplit(":", 1)[1])
            for source in ("127.0.0.1", "127.0.0.2"):
                for _ in range(TRIES):
                    await asyncio.to_thread(_foreign_try, port, source, tls.ca_path, foreign)
            async with (
                client(tls, "TAB-1", "tablet", hub) as device,
                device.get(f"{url}/api/v1/health") as r,
            ):
                assert r.status == 200, await r.text()
                health = await r.json()
                assert r.headers["Server"] == "branch-hub"
        assert health["tls_handshakes_failed"] == 2 * TRIES, health

    asyncio.run(main())
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 2, lines
    assert any("127.0.0.1" in line for line in lines), lines
    assert any("127.0.0.2" in line for line in lines), lines
    assert all("failed" in line for line in lines), lines
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == LOGGER)


def test_a_peer_is_logged_again_after_a_minute_with_the_count_in_between(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    watch = HandshakeWatch(clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger=LOGGER)
    refused = ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] unknown ca")
    for at in (0.0, 1.0, 30.0, 59.0, 61.0, 62.0):
        now[0] = at
        watch.record("127.0.0.9", refused)
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert watch.failed == 6
    assert len(lines) == 2, lines
    assert "3 more since the last report" in lines[1], lines
