"""A hub with its security stores, served over mutual TLS on loopback, for security tests."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509

from branch_hub.hub import Hub
from branch_hub.security import HubSecurity
from tests.support.hubkit import served_hub
from tests.support.lobbyenv import branch_config
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
    hub_settings: dict[str, object] | None = None,
) -> AsyncIterator[tuple[Hub, str]]:
    """Run a hub with staff accounts (w1 wealth_manager, t1 teller; PIN 246810) and yield it.

    A `security` the test prepared stays the test's: the hub opens its own on the same folder.
    """
    del security
    config = branch_config()
    config = config.model_copy(
        update={
            "hub": config.hub.model_copy(
                update={"staff_idle_timeout_s": idle_timeout_s, **(hub_settings or {})}
            )
        }
    )
    async with served_hub(config, data, tls, extra=extra) as (hub, url):
        tls.registry = None  # these tests enrol each device themselves (client(..., hub))
        have = {a.staff_id for a in hub.security.staff.list()}
        for staff_id, name, role in (
            ("w1", "Wealth One", "wealth_manager"),
            ("t1", "Teller One", "teller"),
        ):
            if staff_id not in have:
                hub.security.staff.add(staff_id, name, role, PIN)
        yield hub, url


def device_context(
    tls: TlsEnv, device_id: str | None = None, kind: str = "tablet", hub: Hub | None = None
) -> ssl.SSLContext:
    """A client TLS context trusting the branch CA; with a device id it presents a certificate
    (recorded in the hub's device registry when `hub` is given, as enrolment would)."""
    context = ssl.create_default_context(cafile=str(tls.ca_path))
    if device_id:
        cert_path, key_path = tls.client(device_id, kind)
        if hub is not None:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            hub.security.devices.register(device_id, kind, cert)
        context.load_cert_chain(str(cert_path), str(key_path))
    return context


def client(
    tls: TlsEnv, device_id: str | None = None, kind: str = "tablet", hub: Hub | None = None
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
