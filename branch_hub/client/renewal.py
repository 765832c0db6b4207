"""Keeping the device certificate current: renew it over mutual TLS before it expires.

Devices call `renew_if_due` at start and once a day. The new key is made on the device and never
leaves it. The new pair is written beside the old one, fsynced, then renamed over it;
`recover_pair` finishes (or discards) a swap that a crash interrupted, so the device always holds a
key and a certificate that belong together. Until the device first presents the new certificate,
the hub still admits the old one, so a device that dies mid-swap keeps working and renews again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.client._errors import HubError, HubProtocolError
from branch_hub.client._tls import DeviceTls
from branch_hub.client._transport import HubTransport
from branch_hub.client._wire import Reader
from branch_hub.client.enrolment import Enrolment

__all__ = [
    "RENEW_EVERY_S",
    "RENEW_PATH",
    "RENEW_WITHIN_DAYS",
    "CertificateKeeper",
    "RenewRequest",
    "certificate_due",
    "recover_pair",
    "renew_if_due",
]

log = logging.getLogger("branch_hub.client.renewal")

RENEW_EVERY_S = 86_400.0  # devices check once a day (and at start)
RENEW_PATH = "/devices/renew"
RENEW_WITHIN_DAYS = 30  # the hub accepts renewals in a certificate's last 30 days
_PROFILE_DAYS = 365  # longer-lived certificates come from the older profile: renew them now


@dataclass(frozen=True)
class RenewRequest:
    """POST /devices/renew: a CSR for the device's new key; `force` renews before the window."""

    csr: str
    force: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The JSON body."""
        return {"csr": self.csr, "force": self.force}

    @classmethod
    def from_wire(cls, body: object) -> RenewRequest:
        """Parse; raise WireError on a wrong shape."""
        r = Reader(body, "renewal")
        return cls(r.text("csr"), r.flag("force") if r.has("force") else False)


def certificate_due(cert: x509.Certificate, within_days: int, now: dt.datetime) -> bool:
    """True when the certificate expires within `within_days` or outlives the current profile."""
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    if lifetime > dt.timedelta(days=_PROFILE_DAYS, hours=1):
        return True
    return cert.not_valid_after_utc - now <= dt.timedelta(days=within_days)


def _pending(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def _write_synced(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pair_matches(cert_path: Path, key_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*raw) == key.public_key().public_bytes(*raw)


def _swap_in(tls: DeviceTls) -> None:
    """Rename the pending pair over the current one (key first), then sync the folder."""
    new_key, new_cert = _pending(tls.key), _pending(tls.cert)
    if new_key.exists():
        os.replace(new_key, tls.key)
    os.replace(new_cert, tls.cert)
    _sync_folder(tls.cert.parent)


def recover_pair(tls: DeviceTls) -> None:
    """Finish a swap a crash interrupted, or drop a pending pair that was never completely saved."""
    new_key, new_cert = _pending(tls.key), _pending(tls.cert)
    if not new_cert.exists():
        new_key.unlink(missing_ok=True)  # the certificate was never saved: keep the old pair
        return
    key = new_key if new_key.exists() else tls.key  # no pending key: it was already renamed
    if _pair_matches(new_cert, key):
        _swap_in(tls)
    else:
        new_key.unlink(missing_ok=True)
        new_cert.unlink()


def save_pair(tls: DeviceTls, cert_pem: bytes, key_pem: bytes) -> None:
    """Replace the device's key and certificate so that a crash never leaves a mismatched pair."""
    _write_synced(_pending(tls.key), key_pem, 0o600)
    _write_synced(_pending(tls.cert), cert_pem, 0o644)
    _swap_in(tls)


def _new_key_and_csr(subject: x509.Name) -> tuple[bytes, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _check_issued(answer: Enrolment, old: x509.Certificate, key_pem: bytes) -> bytes:
    """The new certificate as PEM, once it names this device and carries the new key."""
    cert_pem = answer.certificate.encode("ascii")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as exc:
        raise HubProtocolError("the hub's renewed certificate is not PEM") from exc
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        raise HubProtocolError("the hub's renewed certificate is for another key")
    ids = (NameOID.COMMON_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME)
    if [cert.subject.get_attributes_for_oid(o) for o in ids] != [
        old.subject.get_attributes_for_oid(o) for o in ids
    ]:
        raise HubProtocolError("the hub's renewed certificate names another device")
    return cert_pem


def renew_if_due(
    client: HubTransport,
    within_days: int = RENEW_WITHIN_DAYS,
    *,
    force: bool = False,
    now: dt.datetime | None = None,
) -> Enrolment | None:
    """Renew the device certificate when it is due (or forced); None when it was not due.

    Raises a HubError subclass when the hub cannot be reached or refuses; the old pair stays.
    """
    tls = client.tls
    try:
        recover_pair(tls)
    except OSError as exc:
        raise HubError(f"cannot finish an interrupted certificate swap: {exc}") from exc
    try:
        old = x509.load_pem_x509_certificate(Path(tls.cert).read_bytes())
    except (OSError, ValueError) as exc:
        raise HubError(f"cannot read the device certificate: {exc}") from exc
    if not force and not certificate_due(old, within_days, now or dt.datetime.now(dt.UTC)):
        return None
    key_pem, csr = _new_key_and_csr(old.subject)
    answer = Enrolment.from_wire(client.post(RENEW_PATH, RenewRequest(csr, force).to_wire()))
    try:
        save_pair(tls, _check_issued(answer, old, key_pem), key_pem)
    except OSError as exc:  # the hub admits the old certificate until the new one is used
        raise HubError(f"cannot save the renewed certificate: {exc}") from exc
    client.reconnect()
    return answer


class CertificateKeeper:
    """A background thread that runs `renew_if_due` at start and then once a day."""

    def __init__(
        self, client: HubTransport, every_s: float = RENEW_EVERY_S, retry_s: float = 600.0
    ) -> None:
        self.client, self.every_s, self.retry_s = client, every_s, retry_s
        self.renewed: Enrolment | None = None
        self.checked = threading.Event()  # set after each check, renewed or not
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cert-renewal", daemon=True)

    def start(self) -> CertificateKeeper:
        """Start checking."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop checking (a renewal under way finishes first)."""
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.every_s
            try:
                answer = renew_if_due(self.client)
            except HubError as exc:  # unreachable or refused: the current certificate still works
                log.warning("certificate renewal failed: %s", exc)
                wait = min(self.every_s, self.retry_s)
            else:
                if answer is not None:
                    self.renewed = answer
                    log.info("device certificate renewed")
            self.checked.set()
            self._stop.wait(wait)
