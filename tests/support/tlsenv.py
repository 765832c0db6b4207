"""A branch CA, hub server certificate and device client certificates made at test time."""

from __future__ import annotations

import ssl
from collections.abc import Callable
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
    # Called with (device_id, kind, certificate) for every certificate issued, so a running hub
    # can record it in its device registry as enrolment would (the hub admits only those).
    on_issue: Callable[[str, str, Any], object] | None = None
    issued: dict[tuple[str, str], tuple[Path, Path, Any]] = field(default_factory=dict)

    def client(self, device_id: str, kind: str) -> tuple[Path, Path]:
        """Issue a client certificate for a device (once per device) and return (cert, key) paths."""
        known = self.issued.get((device_id, kind))
        if known is not None:
            return known[0], known[1]
        cert, key = issue_client_cert(self.ca, device_id, kind)
        assert key is not None
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
        self.issued[(device_id, kind)] = (cert_path, key_path, cert)
        if self.on_issue is not None:
            self.on_issue(device_id, kind, cert)
        return cert_path, key_path

    def enrol_into(self, register: Callable[[str, str, Any], object] | None) -> None:
        """Record every certificate issued so far, and from now on, with `register`."""
        self.on_issue = register
        if register is not None:
            for (device_id, kind), (_, _, cert) in self.issued.items():
                register(device_id, kind, cert)

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
