"""Certificates for the branch: a branch CA (EC P-256), the hub's server certificate, client certificates."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "AEAD_CIPHERS",
    "CA_DAYS",
    "DEVICE_CERT_DAYS",
    "SERVER_CERT_DAYS",
    "CertifiedKey",
    "ca_fingerprint",
    "device_uri",
    "issue_client_cert",
    "issue_server_cert",
    "load_pem_pair",
    "make_ca",
    "server_ssl_context",
    "write_private_key",
]


CA_DAYS = 3650
DEVICE_CERT_DAYS = 365  # the bank's ceiling for device certificates; devices renew themselves
SERVER_CERT_DAYS = 397  # under the CA/Browser Forum's 398-day ceiling for server certificates
# TLS 1.2: forward-secret AEAD suites only (no CBC, no RSA key exchange); TLS 1.3 suites are all AEAD.
AEAD_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


@dataclass(frozen=True)
class CertifiedKey:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        """Return the certificate as PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        """Return the private key as unencrypted PKCS#8 PEM (write it with mode 0600)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, cert_path: Path, key_path: Path) -> None:
        """Write the certificate (0644) and the key (0600)."""
        cert_path.write_bytes(self.cert_pem())
        write_private_key(key_path, self.key_pem())


def write_private_key(path: Path, pem: bytes) -> None:
    """Write private key material readable only by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_ca(branch_id: str, days: int = CA_DAYS) -> CertifiedKey:
    """Create a branch CA (EC P-256, path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "branch-edge"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Branch CA {branch_id}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertifiedKey(cert, key)


_LEAF_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,  # ECDHE-ECDSA: the leaf key only signs the handshake
    key_cert_sign=False,
    crl_sign=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


def _authority_key_id(ca: CertifiedKey) -> x509.AuthorityKeyIdentifier:
    """The AKI naming the CA's key: its SKI, or (a CA made without one) its public key's hash."""
    try:
        ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _leaf(
    builder: x509.CertificateBuilder, ca: CertifiedKey, public_key: ec.EllipticCurvePublicKey
) -> x509.Certificate:
    """Add the key identifiers strict RFC 5280 verifiers need and sign with the CA."""
    return (
        builder.issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_authority_key_id(ca), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(ca.key, hashes.SHA256())
    )


def issue_server_cert(
    ca: CertifiedKey,
    hub_id: str,
    names: list[str],
    addresses: list[str],
    days: int = SERVER_CERT_DAYS,
) -> CertifiedKey:
    """Issue the hub's TLS server certificate with SANs for its host names and addresses."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hub {hub_id}")]))
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(_LEAF_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    return CertifiedKey(_leaf(builder, ca, key.public_key()), key)


def issue_client_cert(
    ca: CertifiedKey,
    device_id: str,
    kind: str,
    public_key: ec.EllipticCurvePublicKey | None = None,
    days: int = DEVICE_CERT_DAYS,
    not_before: dt.datetime | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey | None]:
    """Issue a device's client certificate: CN = device id, OU = device kind."""
    key = None
    if public_key is None:
        key = ec.generate_private_key(ec.SECP256R1())
        public_key = key.public_key()
    start = not_before or _now() - dt.timedelta(minutes=5)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind),
            x509.NameAttribute(NameOID.COMMON_NAME, device_id),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        # Strict client-path verifiers require a SAN; the hub itself reads CN and OU.
        .add_extension(x509.SubjectAlternativeName([device_uri(device_id, kind)]), critical=False)
        .add_extension(_LEAF_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    return _leaf(builder, ca, public_key), key


def device_uri(device_id: str, kind: str) -> x509.UniformResourceIdentifier:
    """The SAN naming a device in its client certificate."""
    return x509.UniformResourceIdentifier(f"urn:branch-edge:device:{kind}:{device_id}")


def load_pem_pair(cert_path: Path, key_path: Path) -> CertifiedKey:
    """Load a certificate and its EC private key from PEM files."""
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{key_path}: expected an EC private key")
    return CertifiedKey(cert, key)


def ca_fingerprint(cert: x509.Certificate) -> str:
    """Return the SHA-256 fingerprint of a certificate's DER encoding, as lowercase hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def server_ssl_context(
    cert: str, key: str, client_ca: str | None, require_client: bool
) -> ssl.SSLContext:
    """Build the hub's TLS context; with a client CA, peers must present a certificate it issued."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(AEAD_CIPHERS)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    return context
