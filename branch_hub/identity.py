"""The hub's provisioned identity in its data folder: what `branch-provision init` writes there
(branch CA, the hub's TLS certificate and key, hub.json), the names devices reach it by, and the
checks `branch-hub --check` and the hub's start make on it.

Layout, the same in the branch folder init makes and on the installed hub:
`DATA_DIR/pki/{ca.crt, ca.key, hub.crt, hub.key, hub.json}`, where DATA_DIR is `[hub] data_dir`
(relative to hub.toml: `DIR/var` in the branch folder, `/var/lib/branch-edge` once installed).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from branch_hub.config import BranchConfig, resolve_data_dir
from branch_hub.pki import CertifiedKey, ca_fingerprint, issue_server_cert, make_ca

__all__ = [
    "HubPki",
    "certificate_names",
    "check_identity",
    "default_addresses",
    "default_names",
    "server_names",
    "url_host_covered",
    "write_hub_identity",
    "write_server_cert",
]

INIT_HINT = "run 'branch-provision init' (or start with --dev for a development CA)"


@dataclass(frozen=True)
class HubPki:
    """The files of the hub's identity under DATA_DIR/pki."""

    folder: Path

    @classmethod
    def of(cls, config: BranchConfig, config_path: str | Path) -> HubPki:
        """The pki folder the hub started with this config uses."""
        return cls(resolve_data_dir(config, config_path) / "pki")

    @property
    def ca_crt(self) -> Path:
        """The branch CA certificate (devices pin its fingerprint)."""
        return self.folder / "ca.crt"

    @property
    def ca_key(self) -> Path:
        """The branch CA key (enrolment and device renewal sign with it)."""
        return self.folder / "ca.key"

    @property
    def hub_crt(self) -> Path:
        """The hub's TLS server certificate."""
        return self.folder / "hub.crt"

    @property
    def hub_key(self) -> Path:
        """The hub's TLS server key."""
        return self.folder / "hub.key"

    @property
    def hub_json(self) -> Path:
        """What init recorded: hub id, host names, addresses, port."""
        return self.folder / "hub.json"

    def required(self) -> tuple[Path, ...]:
        """The files without which the hub cannot serve TLS."""
        return (self.ca_crt, self.hub_crt, self.hub_key)


def default_names(host: str | None = None) -> list[str]:
    """The host names a server certificate carries unless told otherwise."""
    return server_names([host] if host else None, [])[0]


def default_addresses() -> list[str]:
    """The addresses a server certificate carries unless told otherwise (loopback only)."""
    return ["127.0.0.1", "::1"]


def server_names(hosts: list[str] | None, addresses: list[str]) -> tuple[list[str], list[str]]:
    """The SANs for the hub: the given host names (default: this machine's), each one-label name
    also as NAME.local (what mDNS resolves), localhost; the given addresses and loopback."""
    names: list[str] = []
    for host in hosts or [socket.gethostname()]:
        names += [host, f"{host}.local"] if "." not in host else [host]
    names.append("localhost")
    ips = [str(ipaddress.ip_address(a)) for a in [*addresses, *default_addresses()]]
    return list(dict.fromkeys(names)), list(dict.fromkeys(ips))


def url_host_covered(url: str, cert: x509.Certificate) -> bool:
    """Whether the host of an https:// URL is among the certificate's SANs."""
    host = urlsplit(url).hostname or ""
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        host = host.lower()
    return host in {name.lower() for name in certificate_names(cert)}


def write_server_cert(
    ca: CertifiedKey, pki: HubPki, hub_id: str, names: list[str], addresses: list[str]
) -> CertifiedKey:
    """Issue and save the hub's server certificate (key first: each write is complete)."""
    server = issue_server_cert(ca, hub_id, names, addresses)
    server.save(pki.hub_crt, pki.hub_key)
    return server


def write_hub_identity(
    pki: HubPki, branch_id: str, names: list[str], addresses: list[str], port: int
) -> CertifiedKey:
    """Make the branch CA, the hub's certificate and hub.json in a new pki folder; return the CA."""
    pki.folder.mkdir(parents=True, exist_ok=True)
    pki.folder.chmod(0o700)
    ca = make_ca(branch_id)
    ca.save(pki.ca_crt, pki.ca_key)
    hub_id = f"{branch_id}-hub"
    names = list(dict.fromkeys(names))
    addresses = list(dict.fromkeys(str(ipaddress.ip_address(a)) for a in addresses))
    write_server_cert(ca, pki, hub_id, names, addresses)
    info = {
        "hub_id": hub_id,
        "branch_id": branch_id,
        "host": names[0],
        "names": names,
        "addresses": addresses,
        "port": port,
    }
    pki.hub_json.write_text(json.dumps(info, indent=2), encoding="utf-8")
    return ca


def certificate_names(cert: x509.Certificate) -> set[str]:
    """The DNS names and IP addresses (as text) a certificate's SAN covers."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    names = set(sans.get_values_for_type(x509.DNSName))
    return names | {str(a) for a in sans.get_values_for_type(x509.IPAddress)}


def check_identity(config: BranchConfig, config_path: str | Path) -> list[str]:
    """One line per problem with the hub's keys; empty when the hub can serve with them."""
    pki = HubPki.of(config, config_path)
    for path in pki.required():
        if not path.exists():
            return [f"{path} does not exist: the hub has no provisioned keys; {INIT_HINT}"]
    try:
        ca = x509.load_pem_x509_certificate(pki.ca_crt.read_bytes())
    except (OSError, ValueError) as exc:
        return [f"{pki.ca_crt}: not a PEM certificate ({_one_line(exc)})"]
    problems = _fingerprint_problem(config, config_path, ca)
    hub, problem = _load_hub(pki)
    if hub is None:
        return [*problems, problem]
    cert, key = hub
    if not _issued_by(cert, ca):
        problems.append(
            f"{pki.hub_crt} was not issued by the branch CA {pki.ca_crt}; "
            "run 'branch-provision rotate-server-cert'"
        )
    if _public(cert.public_key()) != _public(key.public_key()):
        problems.append(f"{pki.hub_key} is not the key of {pki.hub_crt}")
    return problems


def _fingerprint_problem(
    config: BranchConfig, config_path: str | Path, ca: x509.Certificate
) -> list[str]:
    pinned = config.hub.ca_fingerprint
    served = ca_fingerprint(ca)
    if pinned and pinned != served:
        return [
            f"{config_path}: hub.ca_fingerprint: is {pinned}, but the CA in the data folder "
            f"has {served}: this is not the branch CA init made"
        ]
    return []


def _load_hub(
    pki: HubPki,
) -> tuple[tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, str]:
    try:
        cert = x509.load_pem_x509_certificate(pki.hub_crt.read_bytes())
    except (OSError, ValueError) as exc:
        return None, f"{pki.hub_crt}: not a PEM certificate ({_one_line(exc)})"
    try:
        key = serialization.load_pem_private_key(pki.hub_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        return None, f"{pki.hub_key}: not a PEM private key ({_one_line(exc)})"
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None, f"{pki.hub_key}: not an EC private key"
    return (cert, key), ""


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _public(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return b""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
