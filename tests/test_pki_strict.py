"""The branch PKI as strict verifiers see it, and TLS that offers only AEAD suites (real handshakes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from branch_hub.client import DeviceTls, HubClient, HubUnavailable
from branch_hub.pki import CertifiedKey, issue_client_cert, issue_server_cert, make_ca
from tests.support.hubkit import served_hub
from tests.support.lobbyenv import branch_config
from tests.support.tlsenv import TlsEnv, make_tls_env

OPENSSL = shutil.which("openssl")
CBC = "ECDHE-ECDSA-AES128-SHA256"  # offered alone by the clients the hub must refuse


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _openssl_strict(folder: Path, ca: x509.Certificate, *leaves: x509.Certificate) -> str:
    """`openssl verify -x509_strict` over the leaves; its output (raises on a failed chain)."""
    assert OPENSSL is not None
    (folder / "ca.pem").write_bytes(_pem(ca))
    paths = []
    for i, leaf in enumerate(leaves):
        paths.append(folder / f"leaf{i}.pem")
        paths[-1].write_bytes(_pem(leaf))
    args = [OPENSSL, "verify", "-x509_strict", "-CAfile", str(folder / "ca.pem"), *map(str, paths)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise AssertionError(done.stdout + done.stderr)
    return done.stdout


def test_every_certificate_verifies_under_strict_rfc5280(tmp_path: Path) -> None:
    ca = make_ca("STRICT")
    server = issue_server_cert(ca, "hub", ["localhost"], ["127.0.0.1"])
    device, _ = issue_client_cert(ca, "TAB-01", "tablet")
    ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    for leaf in (server.cert, device):
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert aki.key_identifier == ski.digest
        own = leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert own == x509.SubjectKeyIdentifier.from_public_key(leaf.public_key())
    for name in (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))):
        chain = PolicyBuilder().store(Store([ca.cert])).build_server_verifier(name)
        assert chain.verify(server.cert, []) == [server.cert, ca.cert]
    verified = PolicyBuilder().store(Store([ca.cert])).build_client_verifier().verify(device, [])
    assert verified.chain == [device, ca.cert]
    if OPENSSL:
        assert _openssl_strict(tmp_path, ca.cert, server.cert, device).count(": OK") == 2


def _without_aki(ca: CertifiedKey) -> x509.Certificate:
    """A device certificate as the hub issued them before (no AKI, SKI or SAN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TAB-OLD")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )


@pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")
def test_the_older_profile_is_what_strict_verifiers_refuse(tmp_path: Path) -> None:
    ca = make_ca("STRICT")
    with pytest.raises(AssertionError, match="Authority Key Identifier"):
        _openssl_strict(tmp_path, ca.cert, _without_aki(ca))


def _ca_without_ski() -> CertifiedKey:
    """A CA made without a Subject Key Identifier (by another tool, or long ago)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Old Branch CA")])
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return CertifiedKey(cert, key)


def test_a_ca_without_ski_still_issues_leaves_with_an_aki(tmp_path: Path) -> None:
    ca = _ca_without_ski()
    device, _ = issue_client_cert(ca, "TAB-02", "tablet")
    aki = device.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    own = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    assert aki.key_identifier == own.digest  # the CA key's hash, as an SKI would have held
    verified = PolicyBuilder().store(Store([ca.cert])).build_client_verifier().verify(device, [])
    assert verified.chain == [device, ca.cert]
    if OPENSSL:  # OpenSSL's strict mode also wants the CA to carry an SKI: reissue such a CA
        with pytest.raises(AssertionError, match="Missing Subject Key Identifier"):
            _openssl_strict(tmp_path, ca.cert, device)


def test_lifetimes_follow_the_banks_policy() -> None:
    ca = make_ca("LIFE")
    server = issue_server_cert(ca, "hub", ["localhost"], []).cert
    device, _ = issue_client_cert(ca, "TAB-03", "tablet")
    assert server.not_valid_after_utc - server.not_valid_before_utc <= dt.timedelta(days=398)
    assert device.not_valid_after_utc - device.not_valid_before_utc <= dt.timedelta(days=365)


def _handshake(port: int, ca: Path, *, ciphers: str | None, top: ssl.TLSVersion) -> str:
    """Connect to the hub; return the negotiated cipher (raises ssl.SSLError when refused)."""
    context = ssl.create_default_context(cafile=str(ca))
    context.maximum_version = top
    if top < ssl.TLSVersion.TLSv1_2:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")  # make this client really offer TLS 1.0/1.1
    elif ciphers:
        context.set_ciphers(ciphers)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
    ):
        cipher = wrapped.cipher()
        assert cipher is not None
        return f"{cipher[1]} {cipher[0]}"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_the_hub_speaks_only_aead_suites(
    tmp_path: Path, tls: TlsEnv, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        async with served_hub(branch_config(), tmp_path / "data", tls) as (_hub, url):
            port = int(url.rsplit(":", 1)[1])
            loop = asyncio.get_running_loop()

            def shake(ciphers: str | None, top: ssl.TLSVersion) -> str:
                return _handshake(port, tls.ca_path, ciphers=ciphers, top=top)

            v12 = ssl.TLSVersion.TLSv1_2
            got = await loop.run_in_executor(None, shake, "ECDHE-ECDSA-AES128-GCM-SHA256", v12)
            assert got == "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"
            got = await loop.run_in_executor(None, shake, "ECDHE-ECDSA-CHACHA20-POLY1305", v12)
            assert got == "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305"
            got = await loop.run_in_executor(None, shake, None, ssl.TLSVersion.TLSv1_3)
            assert got.startswith("TLSv1.3 TLS_")
            cert, key = tls.client("TAB-H", "tablet")

            def failed_so_far() -> int:
                health = requests.get(
                    f"{url}/api/v1/health",
                    cert=(str(cert), str(key)),
                    verify=str(tls.ca_path),
                    timeout=5,
                )
                return int(health.json()["tls_handshakes_failed"])

            failed = await loop.run_in_executor(None, failed_so_far)
            for ciphers in (CBC, "ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA"):
                with pytest.raises(ssl.SSLError):
                    await loop.run_in_executor(None, shake, ciphers, v12)
            with pytest.raises(ssl.SSLError):
                await loop.run_in_executor(None, shake, None, ssl.TLSVersion.TLSv1_1)
            assert await loop.run_in_executor(None, failed_so_far) == failed + 3
            reasons = [r.getMessage() for r in caplog.records if "handshake" in r.getMessage()]
            assert any("NO_SHARED_CIPHER" in m for m in reasons), reasons
            if OPENSSL:
                assert await _s_client(port, tls.ca_path, CBC) != 0
                assert await _s_client(port, tls.ca_path, "ECDHE-ECDSA-AES256-GCM-SHA384") == 0

    asyncio.run(main())


async def _s_client(port: int, ca: Path, cipher: str) -> int:
    """`openssl s_client -tls1_2 -cipher`: its exit status (0 = handshake done)."""
    assert OPENSSL is not None
    process = await asyncio.create_subprocess_exec(
        *(OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", "-cipher", cipher),
        *("-CAfile", str(ca), "-verify_return_error", "-brief"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 20)


def _cbc_only_server(tls: TlsEnv) -> tuple[socket.socket, threading.Thread]:
    """A TLS 1.2 server offering only a CBC suite (one connection)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CBC)
    context.load_cert_chain(str(tls.server_cert), str(tls.server_key))
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, pytest.raises(ssl.SSLError):
            context.wrap_socket(conn, server_side=True)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_devices_refuse_a_server_that_offers_only_cbc(tmp_path: Path, tls: TlsEnv) -> None:
    cert, key = tls.client("TAB-04", "tablet")
    device = DeviceTls(cert, key, tls.ca_path)
    for context in (device.ssl_context(), device.trust_context()):
        names = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
        assert names
        assert all("GCM" in n or "CHACHA20" in n for n in names)
        assert all(n.startswith("ECDHE-") for n in names)
    listener, thread = _cbc_only_server(tls)
    with listener:
        client = HubClient(f"https://127.0.0.1:{listener.getsockname()[1]}", device)
        with pytest.raises(HubUnavailable):
            client.health()
        client.close()
        thread.join(10)
    assert not thread.is_alive()
