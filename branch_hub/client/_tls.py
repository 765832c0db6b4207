"""The device's TLS identity: its client certificate and the pinned branch CA."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from branch_hub.client._errors import HubError

__all__ = ["AEAD_CIPHERS", "DeviceTls"]

# As the hub's: TLS 1.2 only with forward-secret AEAD suites (no CBC); TLS 1.3 suites are all AEAD.
AEAD_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


@dataclass(frozen=True)
class DeviceTls:
    """Paths of the device certificate, its key and the branch CA the hub's certificate must chain to."""

    cert: Path
    key: Path
    ca: Path

    def check(self) -> None:
        """Raise HubError naming the first missing file."""
        for label, path in (
            ("client certificate", self.cert),
            ("client key", self.key),
            ("branch CA", self.ca),
        ):
            if not Path(path).is_file():
                raise HubError(f"{label} file not found: {path}")

    def trust_context(self) -> ssl.SSLContext:
        """An SSL context trusting only the branch CA, AEAD suites only (no client certificate)."""
        self.check()
        try:
            # cafile= alone: the system trust store is not consulted, so only the branch CA counts.
            context = ssl.create_default_context(cafile=str(self.ca))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(AEAD_CIPHERS)
        except (ssl.SSLError, OSError) as exc:
            raise HubError(f"cannot load the branch CA: {exc}") from exc
        return context

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting only the branch CA and presenting the device certificate."""
        context = self.trust_context()
        try:
            context.load_cert_chain(str(self.cert), str(self.key))
        except (ssl.SSLError, OSError) as exc:
            raise HubError(f"cannot load the device TLS files: {exc}") from exc
        return context
