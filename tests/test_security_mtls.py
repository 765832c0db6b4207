"""Mutual TLS for real: enrolment, the device registry, revocation, device-kind policy, attacks."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.pki import issue_client_cert, make_ca, write_private_key
from branch_hub.security.devices import DeviceRegistry
from branch_hub.security.enrolment import EnrolmentCodes
from branch_hub.security.hub import security_folder
from tests.support.securehub import client, device_context, login, secure_hub
from tests.support.tlsenv import TlsEnv, make_tls_env


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


def _csr(key: ec.EllipticCurvePrivateKey, cn: str = "I am the hub") -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _context_for(tls: TlsEnv, folder: Path, cert_pem: bytes, key: Any) -> ssl.SSLContext:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "d.crt").write_bytes(cert_pem)
    write_private_key(
        folder / "d.key",
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    context = ssl.create_default_context(cafile=str(tls.ca_path))
    context.load_cert_chain(str(folder / "d.crt"), str(folder / "d.key"))
    return context


async def _status(context: ssl.SSLContext | None, url: str, path: str = "/api/v1/health") -> int:
    connector = aiohttp.TCPConnector(ssl=context) if context else None
    async with aiohttp.ClientSession(connector=connector) as session, session.get(url + path) as r:
        return r.status


def test_enrolment_issues_a_working_certificate_once(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url), client(tls) as anonymous:
            assert hub.security is not None
            code = hub.security.codes.create("TAB-07", "tablet")
            key = ec.generate_private_key(ec.SECP256R1())
            body = {"code": code, "csr": _csr(key)}
            async with anonymous.post(f"{url}/api/v1/enrol", json=body) as r:
                assert r.status == 201, await r.text()
                issued = await r.json()
            assert issued["device_id"] == "TAB-07"
            assert issued["kind"] == "tablet"
            cert = x509.load_pem_x509_certificate(issued["certificate"].encode())
            # The hub chose the identity, not the CSR's subject.
            assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "TAB-07"
            context = _context_for(tls, tmp_path / "dev", issued["certificate"].encode(), key)
            assert await _status(context, url) == 200
            # The code is single-use.
            async with anonymous.post(f"{url}/api/v1/enrol", json=body) as r:
                assert r.status == 400
                assert "already used" in (await r.json())["error"]["message"]
            # Everything else needs a certificate.
            assert await _status(device_context(tls), url) == 401
            actions = [e.action for e in hub.security.audit.entries()]
            assert actions == ["enrolment", "enrolment_failed"]

    asyncio.run(main())


def test_expired_code_and_bad_csr(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url), client(tls) as anonymous:
            assert hub.security is not None
            expired = hub.security.codes.create("K1", "kiosk", ttl_s=-1)
            key = ec.generate_private_key(ec.SECP256R1())
            async with anonymous.post(
                f"{url}/api/v1/enrol", json={"code": expired, "csr": _csr(key)}
            ) as r:
                assert r.status == 400
                assert "expired" in (await r.json())["error"]["message"]
            code = hub.security.codes.create("K1", "kiosk")
            for bad in ("not a csr", _csr(key)[:-60], "x" * 9000):
                async with anonymous.post(
                    f"{url}/api/v1/enrol", json={"code": code, "csr": bad}
                ) as r:
                    assert r.status == 400, bad[:20]
            # A bad CSR does not burn the code.
            async with anonymous.post(
                f"{url}/api/v1/enrol", json={"code": code, "csr": _csr(key)}
            ) as r:
                assert r.status == 201

    asyncio.run(main())


def test_guessing_codes_hits_the_rate_limit(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url), client(tls) as anonymous:
            assert hub.security is not None
            real = hub.security.codes.create("K2", "kiosk")
            csr = _csr(ec.generate_private_key(ec.SECP256R1()))
            statuses = []
            for guess in range(7):
                body = {"code": f"AAAA-BBBB-CCCC-{guess:04d}", "csr": csr}
                async with anonymous.post(f"{url}/api/v1/enrol", json=body) as r:
                    statuses.append(r.status)
            assert statuses == [400] * 5 + [429] * 2
            # Even the right code is refused while the source is throttled.
            async with anonymous.post(f"{url}/api/v1/enrol", json={"code": real, "csr": csr}) as r:
                assert r.status == 429
                assert "try again in" in (await r.json())["error"]["message"]

    asyncio.run(main())


def test_other_ca_and_expired_certificates_fail_the_handshake(tmp_path: Path, tls: TlsEnv) -> None:
    rogue = make_ca("ROGUE")
    rogue_cert, rogue_key = issue_client_cert(rogue, "TAB1", "tablet")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    old_cert, old_key = issue_client_cert(tls.ca, "TAB2", "tablet", days=10, not_before=past)

    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url):
            assert hub.security is not None
            hub.security.devices.register("TAB1", "tablet", rogue_cert)
            hub.security.devices.register("TAB2", "tablet", old_cert)
            for name, cert, key in (("rogue", rogue_cert, rogue_key), ("old", old_cert, old_key)):
                pem = cert.public_bytes(serialization.Encoding.PEM)
                context = _context_for(tls, tmp_path / name, pem, key)
                with pytest.raises(aiohttp.ClientError):
                    await _status(context, url)

    asyncio.run(main())


async def _open_events(context: ssl.SSLContext, url: str) -> tuple[Any, Any]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
    ws = await session.ws_connect(f"{url}/api/v1/events")
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "live"
    return session, ws


async def _closed_within(ws: Any, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while True:
                msg = await ws.receive()
                if msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    return True
    except TimeoutError:
        return False


def test_revocation_closes_an_open_websocket_and_refuses_the_device(
    tmp_path: Path, tls: TlsEnv
) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url):
            assert hub.security is not None
            context = device_context(tls, "D1", "display", hub)
            session, ws = await _open_events(context, url)
            try:
                await hub.security.revoke("D1")
                assert await _closed_within(ws, 2.0)
            finally:
                await session.close()
            assert await _status(context, url, "/api/v1/board") == 403
            assert [e.action for e in hub.security.audit.entries()] == ["revocation"]

    asyncio.run(main())


def test_revocation_by_another_process_takes_effect_without_restart(
    tmp_path: Path, tls: TlsEnv
) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url):
            assert hub.security is not None
            watcher = asyncio.create_task(hub.security.watch_revocations(0.1))
            context = device_context(tls, "D2", "display", hub)
            session, ws = await _open_events(context, url)
            try:
                # What `branch-provision revoke` does: write the registry from outside the hub.
                other = DeviceRegistry(security_folder(tmp_path) / "devices.db")
                await asyncio.to_thread(other.revoke, "D2")
                other.close()
                assert await _closed_within(ws, 3.0)
            finally:
                await session.close()
                watcher.cancel()
            assert await _status(context, url, "/api/v1/board") == 403

    asyncio.run(main())


def test_branch_ca_certificate_of_a_device_never_enrolled_is_refused(
    tmp_path: Path, tls: TlsEnv
) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (_, url):
            stray = device_context(tls, "TAB9", "tablet")  # issued, never registered
            assert await _status(stray, url) == 403
            anonymous = device_context(tls)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=anonymous)) as s:
                with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                    await s.ws_connect(f"{url}/api/v1/events")
                assert info.value.status == 401

    asyncio.run(main())


def test_a_replaced_certificate_is_refused(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url):
            first = device_context(tls, "TAB5", "tablet", hub)
            assert await _status(first, url) == 200
            second = device_context(tls, "TAB5", "tablet", hub)  # re-enrolled
            assert await _status(second, url) == 200
            assert await _status(first, url) == 403

    asyncio.run(main())


def test_device_kinds_limit_what_a_device_may_call(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url):
            kiosk = device_context(tls, "K1", "kiosk", hub)
            display = device_context(tls, "D1", "display", hub)
            tablet = device_context(tls, "TAB1", "tablet", hub)
            assert await _status(kiosk, url, "/api/v1/health") == 200
            for path in ("/api/v1/visits/v1/brief", "/api/v1/board", "/api/v1/queue/dashboard"):
                assert await _status(kiosk, url, path) == 403, path
            assert await _status(display, url, "/api/v1/board") == 200
            assert await _status(display, url, "/display") == 200
            assert await _status(display, url, "/api/v1/visits/v1/brief") == 403
            assert await _status(display, url, "/api/v1/kiosk/menu") == 403
            assert await _status(tablet, url, "/api/v1/kiosk/menu") == 403
            # Login from a kiosk is refused before the handler runs.
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=kiosk)) as session:
                status, body = await login(session, url)
                assert status == 403
                assert body["error"]["code"] == "device_kind_forbidden"

    asyncio.run(main())


def test_staff_websocket_needs_a_session(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url):
            tablet = device_context(tls, "TAB1", "tablet", hub)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tablet)) as s:
                with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                    await s.ws_connect(f"{url}/api/v1/events")
                assert info.value.status == 401
                _, body = await login(s, url)
                ws = await s.ws_connect(
                    f"{url}/api/v1/events", headers={"Authorization": f"Bearer {body['token']}"}
                )
                assert (await ws.receive_json(timeout=5))["type"] == "live"
                await ws.close()
            # A display opens the stream without a session (it has no staff).
            display = device_context(tls, "D1", "display", hub)
            session, ws = await _open_events(display, url)
            await session.close()

    asyncio.run(main())


def test_oversized_malformed_and_traversal_requests(tmp_path: Path, tls: TlsEnv) -> None:
    async def main() -> None:
        async with secure_hub(tmp_path, tls) as (hub, url):
            display = device_context(tls, "D1", "display", hub)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=display)) as s:
                for path in (
                    "/display/../../etc/passwd",
                    "/display/%2e%2e/%2e%2e/etc/passwd",
                    "/display/..%2f..%2fsample_branch.toml",
                    "/display/voice/..%2f..%2fhub.db.wav",
                    "/display/voice/%2e%2e%2fatrest.key.wav",
                ):
                    async with s.get(url + path) as r:
                        assert r.status in (403, 404), path
                        assert b"BEGIN" not in await r.read()
            async with (
                client(tls) as anonymous,
                anonymous.post(f"{url}/api/v1/enrol", data=b"{" * 70_000) as r,
            ):
                assert r.status == 413
            async with client(tls) as anonymous:
                for raw in (b"\xff\xfe", b"null", b'{"code": 1}'):
                    async with anonymous.post(f"{url}/api/v1/enrol", data=raw) as r:
                        assert r.status == 400, raw

    asyncio.run(main())


def test_code_store_and_registry_units(tmp_path: Path) -> None:
    codes = EnrolmentCodes(tmp_path / "d.db")
    code = codes.create("TAB1", "tablet")
    assert len(code) == 19
    assert codes.pending()[0][:2] == ("TAB1", "tablet")
    assert codes.redeem(code.lower()) == ("TAB1", "tablet")
    assert codes.pending() == []
