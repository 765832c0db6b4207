"""Device certificates renew themselves over mutual TLS with the production hub on loopback."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from branch_hub.client import DeviceRevoked, DeviceTls, HubClient, HubRefused
from branch_hub.client.renewal import (
    CertificateKeeper,
    RenewRequest,
    recover_pair,
    renew_if_due,
    save_pair,
)
from branch_hub.pki import issue_client_cert, write_private_key
from branch_hub.security.devices import serial_hex
from tests.support.hub_thread import ThreadedHub
from tests.support.tlsenv import TlsEnv, make_tls_env

RENEW = "/devices/renew"


@pytest.fixture
def tls(tmp_path: Path) -> TlsEnv:
    return make_tls_env(tmp_path / "pki")


@pytest.fixture
def hub(tmp_path: Path, tls: TlsEnv) -> Iterator[ThreadedHub]:
    server = ThreadedHub(tmp_path / "data", tls).start()
    try:
        yield server
    finally:
        server.close()


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _device(
    hub: ThreadedHub, folder: Path, device_id: str, days_left: float, lifetime: int = 365
) -> DeviceTls:
    """An enrolled device whose certificate expires in `days_left` days."""
    assert hub.hub is not None
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_left - lifetime)
    cert, _ = issue_client_cert(
        hub.tls.ca, device_id, "tablet", key.public_key(), days=lifetime, not_before=start
    )
    hub.hub.security.devices.register(device_id, "tablet", cert)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "device.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private_key(folder / "device.key", _pem(key))
    return DeviceTls(folder / "device.crt", folder / "device.key", hub.tls.ca_path)


def _copy(tls: DeviceTls, folder: Path) -> DeviceTls:
    folder.mkdir(parents=True, exist_ok=True)
    for path in (tls.cert, tls.key):
        shutil.copy2(path, folder / path.name)
    return DeviceTls(folder / tls.cert.name, folder / tls.key.name, tls.ca)


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whoever")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _refusal(client: HubClient, body: dict[str, object]) -> HubRefused:
    with pytest.raises(HubRefused) as caught:
        client.post(RENEW, body)
    return caught.value


def test_device_renews_then_its_old_certificate_is_refused(
    tmp_path: Path, hub: ThreadedHub
) -> None:
    tls = _device(hub, tmp_path / "tab", "TAB-R1", days_left=10)
    before = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    old = _copy(tls, tmp_path / "old")
    client = HubClient(hub.url, tls)
    client.health()  # a pooled connection that presents the old certificate
    answer = renew_if_due(client)
    assert answer is not None
    assert answer.device_id == "TAB-R1"
    assert answer.kind == "tablet"
    after = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    assert after.serial_number != before.serial_number
    assert after.public_key() != before.public_key()  # a new key, made on the device
    lifetime = after.not_valid_after_utc - after.not_valid_before_utc
    assert lifetime <= dt.timedelta(days=365, minutes=5)
    stale = HubClient(hub.url, old)
    stale.health()  # until the device first uses its new certificate, the old one still works
    client.health()  # new connections: the new certificate
    with pytest.raises(DeviceRevoked) as refused:
        stale.health()
    assert refused.value.code == "device_revoked"
    client.health()
    assert renew_if_due(client) is None  # a year ahead: nothing to do
    assert hub.hub is not None
    hub.hub.security.audit.flush()
    renewed = [e for e in hub.hub.security.audit.entries() if e.action == "device_renewed"]
    assert [(e.subject, e.detail["replaced_serial"]) for e in renewed] == [
        ("TAB-R1", serial_hex(before).lower())
    ]
    for c in (client, stale):
        c.close()


def test_renewal_without_a_client_certificate_is_401(hub: ThreadedHub) -> None:
    body = RenewRequest(_csr(ec.generate_private_key(ec.SECP256R1()))).to_wire()
    reply = requests.post(
        f"{hub.url}/api/v1{RENEW}", json=body, verify=str(hub.tls.ca_path), timeout=5
    )
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "device_not_enrolled"


def test_a_csr_for_another_key_type_is_400(tmp_path: Path, hub: ThreadedHub) -> None:
    client = HubClient(hub.url, _device(hub, tmp_path / "t", "TAB-R2", days_left=5))
    for key in (rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP384R1())):
        refusal = _refusal(client, {"csr": _csr(key)})
        assert (refusal.status, refusal.code) == (400, "renewal_refused")
        assert "P-256" in refusal.message
    refusal = _refusal(client, {"csr": "not a csr"})
    assert (refusal.status, refusal.code) == (400, "renewal_refused")
    client.close()


def test_too_early_is_refused_and_forced_renewals_are_limited(
    tmp_path: Path, hub: ThreadedHub
) -> None:
    tls = _device(hub, tmp_path / "t", "TAB-R3", days_left=200)
    client = HubClient(hub.url, tls)
    assert renew_if_due(client) is None  # the device does not even ask
    csr = _csr(ec.generate_private_key(ec.SECP256R1()))
    refusal = _refusal(client, {"csr": csr})
    assert (refusal.status, refusal.code) == (409, "renewal_not_due")
    assert refusal.message_zh
    assert renew_if_due(client, force=True) is not None
    refusal = _refusal(client, {"csr": csr, "force": True})
    assert (refusal.status, refusal.code) == (429, "too_many_renewals")
    refusal = _refusal(client, {"csr": csr, "force": "yes"})
    assert (refusal.status, refusal.code) == (400, "bad_force")
    client.close()


def test_a_device_that_loses_its_renewed_certificate_keeps_working(
    tmp_path: Path, hub: ThreadedHub
) -> None:
    tls = _device(hub, tmp_path / "t", "TAB-R4", days_left=3)
    client = HubClient(hub.url, tls)
    client.post(RENEW, {"csr": _csr(ec.generate_private_key(ec.SECP256R1()))})  # then "crashes"
    client.reconnect()
    client.health()  # the certificate it still holds is admitted
    client.close()


def test_certificates_of_the_older_825_day_profile_renew_at_once(
    tmp_path: Path, hub: ThreadedHub
) -> None:
    tls = _device(hub, tmp_path / "t", "TAB-R5", days_left=700, lifetime=825)
    client = HubClient(hub.url, tls)
    assert renew_if_due(client) is not None
    client.health()
    client.close()


def test_revoked_device_cannot_renew(tmp_path: Path, hub: ThreadedHub) -> None:
    tls = _device(hub, tmp_path / "t", "TAB-R6", days_left=3)
    assert hub.hub is not None
    hub.hub.security.devices.revoke("TAB-R6")
    with pytest.raises(DeviceRevoked):
        renew_if_due(HubClient(hub.url, tls))


def test_kiosk_keeper_renews_at_start(tmp_path: Path, hub: ThreadedHub) -> None:
    tls = _device(hub, tmp_path / "k", "TAB-R7", days_left=10)
    client = HubClient(hub.url, tls)
    keeper = CertificateKeeper(client, every_s=3600.0).start()
    assert keeper.checked.wait(10.0)
    keeper.stop()
    assert keeper.renewed is not None
    client.health()
    client.close()


def test_an_interrupted_swap_is_finished_or_dropped(tmp_path: Path, tls: TlsEnv) -> None:
    cert, key = tls.client("TAB-R8", "tablet")
    device = DeviceTls(cert, key, tls.ca_path)
    old_pem = cert.read_bytes()
    new_key = ec.generate_private_key(ec.SECP256R1())
    new_cert, _ = issue_client_cert(tls.ca, "TAB-R8", "tablet", new_key.public_key())
    new_pem = new_cert.public_bytes(serialization.Encoding.PEM)
    # A crash while the new certificate was being written: the old pair stays.
    write_private_key(key.with_name(key.name + ".new"), _pem(new_key))
    cert.with_name(cert.name + ".new").write_bytes(new_pem[:100])
    recover_pair(device)
    assert cert.read_bytes() == old_pem
    assert not list(tmp_path.rglob("*.new"))
    # A crash between the two renames (key in place, certificate not): finished at start.
    key.write_bytes(_pem(new_key))
    cert.with_name(cert.name + ".new").write_bytes(new_pem)
    recover_pair(device)
    assert cert.read_bytes() == new_pem
    save_pair(device, old_pem, _pem(ec.generate_private_key(ec.SECP256R1())))
    assert cert.read_bytes() == old_pem
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_tablet_renews_its_certificate_at_start(tmp_path: Path, hub: ThreadedHub) -> None:
    from tablet.controller import Tablet
    from tablet.device import DeviceStore

    store = DeviceStore(tmp_path / "tablet")
    tls = _device(hub, store.root, "TAB-R9", days_left=10)
    shutil.copy2(tls.ca, store.ca_path)
    store.save_settings(hub_url=hub.url)
    before = store.cert_path.read_bytes()
    tablet = Tablet(store)
    try:
        tablet.pump()
        assert tablet.renewal.running
        while tablet.renewal.running:
            tablet.inbox.put(tablet.inbox.get(timeout=10.0))  # wait for the worker's answer
            tablet.pump()
        assert not tablet.renewal.running
        assert not tablet.wiped
        assert store.cert_path.read_bytes() != before
        tablet._client().health()
    finally:
        tablet.close()
