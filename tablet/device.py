"""The only files the tablet keeps: device key and certificate, the pinned branch CA, settings.

No customer data is ever written here (or anywhere else) by the app.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.client import DeviceTls

__all__ = [
    "DeviceStore",
    "EnrolmentCode",
    "EnrolmentError",
    "default_home",
    "fingerprint_matches",
    "fingerprint_of",
    "make_csr",
    "parse_enrolment_code",
]

SETTINGS_KEYS = frozenset({"hub_url", "ca_fingerprint", "device_id", "kind", "language", "counter"})
_HEX = re.compile(r"^[0-9a-f]+$")
_CODE = re.compile(r"^[A-Za-z0-9-]{4,64}$")
MIN_FINGERPRINT_HEX = 16  # 64 bits: what a person can be asked to compare on screen


class EnrolmentError(Exception):
    """The enrolment code, the hub's CA or the hub's answer is not acceptable."""


def default_home() -> Path:
    """The app data directory: $BRANCH_TABLET_HOME or $XDG_DATA_HOME/branch-tablet."""
    explicit = os.environ.get("BRANCH_TABLET_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "branch-tablet"


def fingerprint_of(ca_pem: bytes) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex (as `branch-provision` shows it)."""
    try:
        cert = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise EnrolmentError("the branch CA is not a PEM certificate") from exc
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _clean_fp(text: str) -> str:
    return re.sub(r"[\s:-]", "", text).lower()


def fingerprint_matches(ca_pem: bytes, expected: str) -> bool:
    """True if the CA's fingerprint starts with `expected` (≥16 hex digits; ':' and spaces ignored)."""
    wanted = _clean_fp(expected)
    if len(wanted) < MIN_FINGERPRINT_HEX or not _HEX.match(wanted):
        raise EnrolmentError(
            f"the CA fingerprint must be at least {MIN_FINGERPRINT_HEX} hex digits"
        )
    return fingerprint_of(ca_pem).startswith(wanted)


@dataclass(frozen=True)
class EnrolmentCode:
    """What an enrolment QR (or the typed form) carries."""

    code: str
    hub_url: str | None = None
    ca_fingerprint: str | None = None


def parse_enrolment_code(text: str) -> EnrolmentCode:
    """Parse a typed code (`ABCD-1234`) or a QR payload `branchedge:enrol?code=..&hub=..&fp=..`."""
    if not isinstance(text, str):
        raise EnrolmentError("the enrolment code must be text")
    text = text.strip()
    if text.startswith("branchedge:"):
        parts = urlsplit(text)
        query = parse_qs(parts.query)
        code = (query.get("code") or [""])[0]
        hub: str | None = (query.get("hub") or [""])[0] or None
        fp: str | None = (query.get("fp") or [""])[0] or None
        if hub is not None and not hub.startswith("https://"):
            raise EnrolmentError("the hub address in the code must be an https:// URL")
        if fp is not None:
            fp = _clean_fp(fp)
            if len(fp) < MIN_FINGERPRINT_HEX or not _HEX.match(fp):
                raise EnrolmentError("the CA fingerprint in the code is not hex")
    else:
        code, hub, fp = text, None, None
    if not _CODE.match(code):
        raise EnrolmentError("the enrolment code must be 4-64 letters, digits or '-'")
    return EnrolmentCode(code.upper(), hub, fp)


def make_csr(device_name: str) -> tuple[bytes, bytes]:
    """A new P-256 key and a CSR for it: (csr_pem, key_pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_name)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return csr.public_bytes(serialization.Encoding.PEM), key_pem


class DeviceStore:
    """The tablet's folder: `device.key` (0600), `device.crt`, `ca.crt`, `settings.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def key_path(self) -> Path:
        """The device's private key."""
        return self.root / "device.key"

    @property
    def cert_path(self) -> Path:
        """The device's client certificate."""
        return self.root / "device.crt"

    @property
    def ca_path(self) -> Path:
        """The pinned branch CA."""
        return self.root / "ca.crt"

    def _ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)

    def settings(self) -> dict[str, Any]:
        """The saved settings ({} before the first start)."""
        try:
            data = json.loads((self.root / "settings.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return (
            {k: v for k, v in data.items() if k in SETTINGS_KEYS} if isinstance(data, dict) else {}
        )

    def save_settings(self, **values: Any) -> None:
        """Merge `values` into settings (only the known, non-customer keys are accepted)."""
        unknown = set(values) - SETTINGS_KEYS
        if unknown:
            raise ValueError(f"not a tablet setting: {sorted(unknown)}")
        self._ensure()
        data = {**self.settings(), **values}
        tmp = self.root / "settings.json.tmp"
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), "utf-8")
        os.replace(tmp, self.root / "settings.json")

    @property
    def enrolled(self) -> bool:
        """True when key, certificate and CA are all present."""
        return all(p.is_file() for p in (self.key_path, self.cert_path, self.ca_path))

    def pin_ca(self, ca_pem: bytes, expected_fingerprint: str) -> None:
        """Store the branch CA after checking it against the fingerprint shown by IT."""
        if not fingerprint_matches(ca_pem, expected_fingerprint):
            raise EnrolmentError(
                "the hub's CA does not match the fingerprint: this is not your branch's hub"
            )
        self._ensure()
        self.ca_path.write_bytes(ca_pem)
        self.save_settings(ca_fingerprint=fingerprint_of(ca_pem))

    def store_identity(self, cert_pem: bytes, key_pem: bytes) -> None:
        """Save the issued certificate and its key (0600)."""
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise EnrolmentError("the hub answered with a certificate that is not PEM") from exc
        self._ensure()
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key_pem)
        self.cert_path.write_bytes(cert_pem)
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ou = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        self.save_settings(
            device_id=str(cn[0].value) if cn else None, kind=str(ou[0].value) if ou else None
        )

    def tls(self) -> DeviceTls:
        """The TLS identity for the wire client."""
        return DeviceTls(self.cert_path, self.key_path, self.ca_path)

    def forget_identity(self) -> None:
        """Delete the device key and certificate (revocation): the device must enrol again."""
        for path in (self.key_path, self.cert_path):
            with contextlib.suppress(FileNotFoundError):
                size = path.stat().st_size
                with path.open("r+b") as handle:  # overwrite first: best effort on flash storage
                    handle.write(b"\0" * size)
                    handle.flush()
                    os.fsync(handle.fileno())
                path.unlink()
