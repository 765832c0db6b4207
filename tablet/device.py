"""The only files the tablet keeps: device key and certificate, the pinned branch CA, settings.

No customer data is ever written here (or anywhere else) by the app.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from branch_hub.client import DeviceTls
from branch_hub.client.enrolment_code import (
    EnrolmentCode,
    EnrolmentError,
    check_pin,
    fingerprint_matches,
    fingerprint_of,
    make_csr,
    parse_enrolment_code,
)

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

SETTINGS_KEYS = frozenset(
    {
        "hub_url",
        "ca_fingerprint",
        "device_id",
        "kind",
        "language",
        "counter",
        "presentation_exit",
        "report_opener",  # the command a report PDF is opened with (desktop; default xdg-open)
    }
)


def default_home() -> Path:
    """The app data directory: $BRANCH_TABLET_HOME or $XDG_DATA_HOME/branch-tablet."""
    explicit = os.environ.get("BRANCH_TABLET_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "branch-tablet"


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
        fingerprint = check_pin(ca_pem, expected_fingerprint)
        self._ensure()
        self.ca_path.write_bytes(ca_pem)
        self.save_settings(ca_fingerprint=fingerprint)

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
