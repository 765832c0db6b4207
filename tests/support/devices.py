"""Enrolled test devices: a client certificate from the hub's CA, registered like enrolment does."""

from __future__ import annotations

from pathlib import Path

from branch_hub.pki import CertifiedKey, issue_client_cert, load_pem_pair
from branch_hub.security.devices import DeviceRegistry


def enrolled_device(data_dir: Path, device_id: str, kind: str = "tablet") -> tuple[str, str]:
    """Issue and register a device certificate in a hub's data dir; return (cert, key) paths."""
    ca = load_pem_pair(data_dir / "pki" / "ca.crt", data_dir / "pki" / "ca.key")
    cert, key = issue_client_cert(ca, device_id, kind)
    if key is None:
        raise RuntimeError("issue_client_cert made no key")
    registry = DeviceRegistry(data_dir / "security" / "devices.db")
    registry.register(device_id, kind, cert)
    registry.close()
    CertifiedKey(cert, key).save(data_dir / f"{device_id}.crt", data_dir / f"{device_id}.key")
    return str(data_dir / f"{device_id}.crt"), str(data_dir / f"{device_id}.key")
