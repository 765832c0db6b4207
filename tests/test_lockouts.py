"""Lockouts that slow an attacker without locking out the branch: login and enrolment floods."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.alerts import HubAlerts
from branch_hub.hub import Hub
from branch_hub.security import HubSecurity
from branch_hub.security.lockouts import (
    ENROL_BACKOFF,
    LOGIN_BACKOFF,
    Throttle,
    login_throttle,
    source_key,
)
from tests.support.securehub import PIN, client, device_context, login, secure_hub
from tests.support.tlsenv import TlsEnv, make_tls_env


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


def test_backoff_doubles_from_the_third_failure_up_to_the_cap() -> None:
    clock = Clock()
    throttle = login_throttle(clock)
    waits = []
    for _ in range(14):
        waits.append(throttle.retry_after("TAB1"))
        clock.now += waits[-1]
        throttle.failed("TAB1")
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    clock.now += LOGIN_BACKOFF.quiet_s + 1  # quiet long enough: forgotten
    assert throttle.retry_after("TAB1") == 0
    throttle.failed("TAB1")
    assert throttle.retry_after("TAB1") == 0


def test_the_ceiling_slows_only_sources_that_failed() -> None:
    clock = Clock()
    throttle = login_throttle(clock)
    throttle.failed("SLIP")
    for i in range(LOGIN_BACKOFF.ceiling - 1):
        throttle.failed(f"TAB{i % 20}")
    assert throttle.over_ceiling()
    assert throttle.retry_after("CLEAN") == 0  # never failed: never slowed
    assert throttle.retry_after("SLIP") == 1  # one failure: waits from its first one
    clock.now += LOGIN_BACKOFF.window_s + 1
    assert not throttle.over_ceiling()
    assert throttle.retry_after("SLIP") == 0  # under the ceiling its 3 free failures are back


def test_memory_stays_bounded_under_a_flood_of_sources() -> None:
    clock = Clock()
    throttle = Throttle(ENROL_BACKOFF, login_throttle().alert, clock)
    for i in range(50_000):
        throttle.failed(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        clock.now += 0.001
    assert throttle.sources() == ENROL_BACKOFF.max_sources
    assert throttle.retry_after("10.0.195.79") > 0  # the most recent are remembered
    assert throttle.retry_after("10.0.0.1") == 0  # the oldest were forgotten first


def test_an_ipv6_host_is_one_source_whatever_its_interface_id() -> None:
    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff:1:2:3")
    assert source_key("2001:db8:1:2::1") != source_key("2001:db8:1:3::1")
    assert source_key("::ffff:192.168.1.20") == "192.168.1.20"
    assert source_key("127.0.0.2") == "127.0.0.2"
    assert source_key("not an address") == "not an address"


def test_the_watch_clears_an_alert_without_any_attempt(tmp_path: Path) -> None:
    async def main() -> None:
        pushed: list[dict[str, Any]] = []

        async def emit(kind: str, data: dict[str, Any]) -> None:
            pushed.append(data)

        security = HubSecurity.open(tmp_path)
        clock = Clock()
        security.enrol_throttle.clock = clock
        alerts = HubAlerts(emit)
        for i in range(ENROL_BACKOFF.ceiling):
            security.enrol_throttle.failed(f"10.0.0.{i}")
        await security.enrol_throttle.sound(alerts, security.audit)
        assert [(a["key"], a["cleared"]) for a in pushed] == [("enrol_attack", False)]
        clock.now += ENROL_BACKOFF.window_s + 1
        watch = asyncio.create_task(security.watch_attacks(alerts, interval_s=0.01))
        try:
            for _ in range(200):
                if len(pushed) == 2:
                    break
                await asyncio.sleep(0.01)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        assert [(a["key"], a["cleared"]) for a in pushed][1:] == [("enrol_attack", True)]
        security.audit.flush()
        details = [e.detail for e in security.audit.entries() if e.action == "attack_alert"]
        assert [d["state"] for d in details] == ["raised", "cleared"]
        security.close()

    asyncio.run(main())


@contextlib.asynccontextmanager
async def _admin_stream(
    tls: TlsEnv, hub: Hub, url: str
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A branch admin logged in on their own tablet, with the tablet's event stream open."""
    hub.security.staff.add("boss", "Branch Admin", "branch_admin", PIN)
    async with client(tls, "TAB-ADMIN", "tablet", hub) as admin:
        status, body = await login(admin, url, "boss")
        assert status == 200, body
        auth = {"Authorization": f"Bearer {body['token']}"}
        ws = await admin.ws_connect(f"{url}/api/v1/events", headers=auth)
        assert (await ws.receive_json(timeout=5))["type"] == "live"
        yield ws
        await ws.close()


async def _next_alert(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next `hub_alert` event's data on a stream (other events are skipped)."""
    for _ in range(100):
        message = await ws.receive_json(timeout=5)
        if message.get("kind") == "hub_alert":
            return message["data"]  # type: ignore[no-any-return]
    raise AssertionError("no hub_alert in 100 events")


async def _try_login(
    tab: aiohttp.ClientSession, url: str, staff_id: str, pin: str
) -> tuple[int, int | None]:
    """POST a login; (status, Retry-After seconds when the device must wait)."""
    async with tab.post(f"{url}/api/v1/login", json={"staff_id": staff_id, "pin": pin}) as r:
        await r.read()
        retry = r.headers.get("Retry-After")
        return r.status, int(retry) if retry is not None else None


async def _spray(tabs: list[aiohttp.ClientSession], url: str, clock: Clock) -> list[int]:
    """10 wrong PINs from each tablet, waiting out each 429 on the fake clock; A1's waits."""
    waits: list[int] = []
    for guess in range(10):
        for n, tab in enumerate(tabs):
            status, retry = await _try_login(tab, url, f"guess{guess}", "135790")
            if status == 429:
                assert retry is not None
                waits += [retry] if n == 0 else []
                clock.now += retry
                status, retry = await _try_login(tab, url, f"guess{guess}", "135790")
            assert status == 401, (guess, n, status)
    return waits


def test_a_login_flood_slows_the_attackers_and_never_a_clean_tablet(
    tmp_path: Path, tls: TlsEnv
) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url), _admin_stream(tls, hub, url) as ws:
            clock = Clock()
            hub.security.login_throttle.clock = clock
            async with contextlib.AsyncExitStack() as stack:
                tabs = [
                    await stack.enter_async_context(client(tls, f"TAB-A{i}", "tablet", hub))
                    for i in range(1, 7)
                ]
                clean = await stack.enter_async_context(client(tls, "TAB-7", "tablet", hub))
                slip = await stack.enter_async_context(client(tls, "TAB-8", "tablet", hub))
                waits = await _spray(tabs, url, clock)
                assert waits == [1, 2, 4, 8, 16, 32, 64]  # 60 failures within 127 s
                alert = await _next_alert(ws)
                assert (alert["alert"], alert["cleared"]) == ("login_attack", False)
                assert "登录失败" in alert["message_zh"]
                # Over the ceiling: an attacker waits the cap; a clean tablet logs in at once.
                assert await _try_login(tabs[0], url, "w1", PIN) == (429, 300)
                assert await _try_login(clean, url, "w1", PIN) == (200, None)
                # A tablet that slips once waits one second, then logs in.
                assert await _try_login(slip, url, "t1", "000000") == (401, None)
                assert await _try_login(slip, url, "t1", PIN) == (429, 1)
                clock.now += 1
                assert await _try_login(slip, url, "t1", PIN) == (200, None)
                # The window passes without failures: the next attempt clears the alert.
                clock.now += LOGIN_BACKOFF.window_s
                assert await _try_login(clean, url, "w1", PIN) == (200, None)
                alert = await _next_alert(ws)
                assert (alert["alert"], alert["cleared"]) == ("login_attack", True)
            hub.security.audit.flush()
            details = [e.detail for e in hub.audit.entries() if e.action == "attack_alert"]
            assert [(d["alert"], d["state"]) for d in details] == [
                ("login_attack", "raised"),
                ("login_attack", "cleared"),
            ]

    asyncio.run(main())


def _csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def _enrol_from(
    tls: TlsEnv, url: str, address: str, code: str, csr: str
) -> tuple[int, int | None]:
    """POST an enrolment from a loopback source address; (status, Retry-After)."""
    context: ssl.SSLContext = device_context(tls)
    connector = aiohttp.TCPConnector(ssl=context, local_addr=(address, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(f"{url}/api/v1/enrol", json={"code": code, "csr": csr}) as r,
    ):
        await r.read()
        retry = r.headers.get("Retry-After")
        return r.status, int(retry) if retry is not None else None


def test_an_enrolment_flood_never_blocks_a_right_code_from_a_fresh_address(
    tmp_path: Path, tls: TlsEnv
) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url), _admin_stream(tls, hub, url) as ws:
            clock = Clock()
            hub.security.enrol_throttle.clock = clock
            real = hub.security.codes.create("TAB-NEW", "tablet")
            csr = _csr()
            attackers = [f"127.0.0.{i}" for i in range(2, 8)]
            statuses = [
                (await _enrol_from(tls, url, address, f"AAAA-BBBB-CCCC-{n:04d}", csr))[0]
                for address in attackers
                for n in range(5)
            ]
            assert statuses == [400] * 30
            alert = await _next_alert(ws)
            assert (alert["alert"], alert["cleared"]) == ("enrol_attack", False)
            # An attacking address waits whatever its code: the right one tells it nothing.
            assert await _enrol_from(tls, url, attackers[0], real, csr) == (429, 16)
            # A fresh address with the right code enrols at once.
            assert await _enrol_from(tls, url, "127.0.0.8", real, csr) == (201, None)
            # A fresh address with a wrong code is slowed after its first failure.
            assert await _enrol_from(tls, url, "127.0.0.9", "AAAA-AAAA-AAAA-AAAA", csr) == (
                400,
                None,
            )
            assert await _enrol_from(tls, url, "127.0.0.9", "AAAA-AAAA-AAAA-AAAB", csr) == (
                429,
                1,
            )
            clock.now += ENROL_BACKOFF.window_s + 1  # the flood is over
            assert (await _enrol_from(tls, url, "127.0.0.9", "AAAA-AAAA-AAAA-AAAC", csr))[0] == 400
            alert = await _next_alert(ws)
            assert (alert["alert"], alert["cleared"]) == ("enrol_attack", True)
            assert [d.device_id for d in hub.security.devices.list()].count("TAB-NEW") == 1

    asyncio.run(main())
