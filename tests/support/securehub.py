"""A hub with its security stores, served over mutual TLS on loopback, for security tests."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509

from branch_hub.atrest import AtRestCipher, load_or_create_key
from branch_hub.context import server_ssl_context
from branch_hub.push import EventLog
from branch_hub.security import HubSecurity
from branch_hub.server import HubApp, create_app
from tests.support.tlsenv import TlsEnv

PIN = "246810"


@asynccontextmanager
async def secure_hub(
    data: Path,
    tls: TlsEnv,
    *,
    idle_timeout_s: float = 900.0,
    extra: Callable[[web.Application], None] | None = None,
    security: HubSecurity | None = None,
) -> AsyncIterator[tuple[HubApp, str]]:
    """Run a hub with staff accounts (w1 wealth_manager, t1 teller; PIN 246810) and yield it."""
    security = security or HubSecurity.open(data, idle_timeout_s, ca=tls.ca)
    have = {a.staff_id for a in security.staff.list()}
    for staff_id, name, role in (
        ("w1", "Wealth One", "wealth_manager"),
        ("t1", "Teller One", "teller"),
    ):
        if staff_id not in have:
            security.staff.add(staff_id, name, role, PIN)
    hub = HubApp(
        log=EventLog(data / "hub.db", AtRestCipher(load_or_create_key(data / "atrest.key"))),
        security=security,
    )
    app = create_app(hub)
    if extra:
        extra(app)
    runner = web.AppRunner(app)
    await runner.setup()
    ssl_ctx = server_ssl_context(str(tls.server_cert), str(tls.server_key), str(tls.ca_path), False)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_ctx)
    await site.start()
    try:
        yield hub, f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
        hub.log.close()
        security.close()


def device_context(
    tls: TlsEnv, device_id: str | None = None, kind: str = "tablet", hub: HubApp | None = None
) -> ssl.SSLContext:
    """A client TLS context trusting the branch CA; with a device id it presents a certificate
    (recorded in the hub's device registry when `hub` is given, as enrolment would)."""
    context = ssl.create_default_context(cafile=str(tls.ca_path))
    if device_id:
        cert_path, key_path = tls.client(device_id, kind)
        if hub is not None and hub.security is not None:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            hub.security.devices.register(device_id, kind, cert)
        context.load_cert_chain(str(cert_path), str(key_path))
    return context


def client(
    tls: TlsEnv, device_id: str | None = None, kind: str = "tablet", hub: HubApp | None = None
) -> aiohttp.ClientSession:
    """An HTTP client for a device (see device_context)."""
    context = device_context(tls, device_id, kind, hub)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))


async def login(
    session: aiohttp.ClientSession, url: str, staff_id: str = "w1", pin: str = PIN
) -> tuple[int, dict[str, object]]:
    """POST /api/v1/login and return (status, body)."""
    async with session.post(f"{url}/api/v1/login", json={"staff_id": staff_id, "pin": pin}) as r:
        return r.status, await r.json()
