"""A branch CA, hub server certificate and device client certificates made at test time."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from branch_hub.pki import (
    CertifiedKey,
    issue_client_cert,
    issue_server_cert,
    make_ca,
    write_private_key,
)


@dataclass
class TlsEnv:
    """Paths of the test PKI."""

    folder: Path
    ca: CertifiedKey
    ca_path: Path
    server_cert: Path
    server_key: Path
    # A branch_hub.security DeviceRegistry: every client certificate issued (before or after it
    # is set) is registered in it, as enrolment would; the hub refuses unregistered devices.
    _registry: Any = None
    issued: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def registry(self) -> Any:
        """The hub's device registry the issued certificates are enrolled in (or None)."""
        return self._registry

    @registry.setter
    def registry(self, registry: Any) -> None:
        self._registry = registry
        if registry is None:
            return
        known = {device.device_id for device in registry.list()}
        latest = {device_id: (kind, cert) for device_id, kind, cert in self.issued}
        for device_id, (kind, cert) in latest.items():
            if device_id not in known:  # a restarted hub keeps what it knew (revocations too)
                registry.register(device_id, kind, cert)

    def client(self, device_id: str, kind: str) -> tuple[Path, Path]:
        """Issue a client certificate for a device and return (cert, key) paths."""
        cert, key = issue_client_cert(self.ca, device_id, kind)
        assert key is not None
        self.issued.append((device_id, kind, cert))
        if self._registry is not None:
            self._registry.register(device_id, kind, cert)
        cert_path = self.folder / f"{device_id}.crt"
        key_path = self.folder / f"{device_id}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        write_private_key(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        return cert_path, key_path

    def client_context(self, device_id: str | None = None, kind: str = "tablet") -> ssl.SSLContext:
        """An SSL context that trusts the branch CA and, given a device id, presents its certificate."""
        context = ssl.create_default_context(cafile=str(self.ca_path))
        if device_id:
            cert, key = self.client(device_id, kind)
            context.load_cert_chain(str(cert), str(key))
        return context


def make_tls_env(folder: Path, branch_id: str = "TEST-BR") -> TlsEnv:
    """Create a CA and a server certificate for 127.0.0.1/localhost under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca(branch_id)
    ca_path = folder / "ca.crt"
    ca_path.write_bytes(ca.cert_pem())
    server = issue_server_cert(ca, "hub-test", ["localhost"], ["127.0.0.1"])
    server.save(folder / "hub.crt", folder / "hub.key")
    return TlsEnv(folder, ca, ca_path, folder / "hub.crt", folder / "hub.key")
