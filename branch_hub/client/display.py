"""The lobby TV: enrolled like every device, then its certificate handed to a kiosk Chromium.

A browser cannot run the enrolment client, so this runs on the PC that drives the TV. `setup`
trades a one-time code for a certificate over `/api/v1/enrol` (the key is made here; the CA is
believed only if it matches the fingerprint IT gave out and the hub's certificate chains to it),
imports key and certificate into the NSS database Chromium reads (`HOME/.pki/nssdb` of the TV's
account, not the profile folder) with the branch CA trusted for TLS servers only, and writes the
Chromium policy that picks that certificate for the hub and lets the hub's page play the call
announcement without a click. `launch` renews the certificate when due and starts Chromium.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from branch_hub.client._errors import HubError
from branch_hub.client._tls import DeviceTls
from branch_hub.client.enrolment import EnrolRequest, enrol_unverified, hub_is_trusted

__all__ = [
    "CHROMIUM_FLAGS",
    "DisplayError",
    "TvHome",
    "chromium_policy",
    "enrol_display",
    "import_identity",
    "kiosk_command",
    "parse_enrolment_uri",
    "policy_file",
    "write_policy",
]

# A closed network: nothing in the background, no updates, sync, translation or crash upload.
CHROMIUM_FLAGS = (
    "--kiosk",
    "--no-first-run",
    "--no-default-browser-check",
    "--noerrdialogs",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-breakpad",
    "--disable-quic",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--disable-session-crashed-bubble",
    "--password-store=basic",  # no desktop keyring on the TV's account
)
NICKNAME = "branch-edge display"  # the TV's identity in NSS
CA_NICKNAME = "branch-edge branch CA"
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


class DisplayError(Exception):
    """The TV cannot be set up or started; one line for branch IT."""


@dataclass(frozen=True)
class TvHome:
    """The TV account's home folder: what Chromium reads and what the enrolment left."""

    root: Path

    @property
    def enrolment(self) -> Path:
        """Key, certificate, pinned CA and hub address (PEM files, key 0600)."""
        return self.root / "enrolment"

    @property
    def nssdb(self) -> Path:
        """Chromium on Linux reads client certificates and local CAs from HOME/.pki/nssdb."""
        return self.root / ".pki" / "nssdb"

    @property
    def profile(self) -> Path:
        """Chromium's --user-data-dir."""
        return self.root / "profile"

    @property
    def hub_file(self) -> Path:
        """The hub's address, written at setup."""
        return self.enrolment / "hub_url"

    def tls(self) -> DeviceTls:
        """The TV's TLS files, as every device keeps them."""
        folder = self.enrolment
        return DeviceTls(folder / "display.crt", folder / "display.key", folder / "ca.crt")

    def hub_url(self) -> str:
        """The hub address saved at setup."""
        if not self.hub_file.is_file():
            raise DisplayError(f"{self.root} holds no enrolment: run `branch-display setup` first")
        return self.hub_file.read_text(encoding="utf-8").strip()


def parse_enrolment_uri(text: str) -> tuple[str, str, str, str]:
    """(hub URL, CA fingerprint, code, device id) from the QR text `branchedge://enrol?...`."""
    parts = urlsplit(text.strip())
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if parts.scheme != "branchedge" or parts.netloc != "enrol":
        raise DisplayError("the enrolment text must start with branchedge://enrol?")
    if query.get("kind", "display") != "display":
        raise DisplayError(f"this code enrols a {query['kind']}, not a display")
    missing = [k for k in ("hub", "ca", "code") if not query.get(k)]
    if missing:
        raise DisplayError(f"the enrolment text lacks {', '.join(missing)}")
    return query["hub"], query["ca"].lower(), query["code"], query.get("id", "")


def _new_key_and_csr(name: str) -> tuple[bytes, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:64] or "display")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def enrol_display(home: TvHome, hub_url: str, code: str, fingerprint: str, name: str) -> str:
    """Enrol as a display with the one-time code; return the device id the hub gave."""
    hub = hub_url.strip().rstrip("/")
    expected = fingerprint.strip().lower().replace(":", "")
    if not _FINGERPRINT.fullmatch(expected):
        raise DisplayError("the CA fingerprint must be 64 hex digits (from branch-provision)")
    key_pem, csr = _new_key_and_csr(name)
    try:
        answer = enrol_unverified(hub, EnrolRequest(code.strip(), csr, "display"))
    except HubError as exc:
        raise DisplayError(f"enrolment failed: {exc}") from exc
    ca = x509.load_pem_x509_certificate(answer.ca_certificate.encode("ascii"))
    if ca.fingerprint(hashes.SHA256()).hex() != expected:
        raise DisplayError("the hub's CA does not match the fingerprint: not our branch's hub")
    tls = home.tls()
    _write_private(tls.ca, answer.ca_certificate.encode("ascii"))
    _write_private(tls.cert, answer.certificate.encode("ascii"))
    _write_private(tls.key, key_pem)
    if not hub_is_trusted(hub, tls):
        for path in (tls.cert, tls.key, tls.ca):
            path.unlink(missing_ok=True)
        raise DisplayError("the hub's certificate is not from the pinned branch CA")
    _write_private(home.hub_file, f"{hub}\n".encode())
    return answer.device_id


def _nss(*args: str) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        raise DisplayError(f"{args[0]} is missing: install Debian's libnss3-tools")
    done = subprocess.run([tool, *args[1:]], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DisplayError(f"{args[0]} failed: {(done.stderr or done.stdout).strip()[:200]}")
    return done.stdout


def import_identity(home: TvHome) -> None:
    """Put the TV's key and certificate (PKCS#12) and the branch CA into Chromium's NSS db."""
    tls = home.tls()
    tls.check()
    db = f"sql:{home.nssdb}"
    if not (home.nssdb / "cert9.db").exists():
        home.nssdb.mkdir(parents=True, exist_ok=True, mode=0o700)
        _nss("certutil", "-N", "-d", db, "--empty-password")
    listed = _nss("certutil", "-L", "-d", db)
    for nickname in (NICKNAME, CA_NICKNAME):
        while nickname in listed:  # a renewal or a re-enrolment replaces the old identity
            _nss("certutil", "-D", "-d", db, "-n", nickname)
            listed = _nss("certutil", "-L", "-d", db)
    # "C,,": a CA for TLS servers only (not for e-mail or code signing).
    _nss("certutil", "-A", "-d", db, "-n", CA_NICKNAME, "-t", "C,,", "-i", str(tls.ca))
    password = secrets.token_urlsafe(16)  # only for the transfer; the file is removed at once
    cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    key = serialization.load_pem_private_key(tls.key.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise DisplayError("the display key is not an EC key")
    bundle = pkcs12.serialize_key_and_certificates(
        NICKNAME.encode(), key, cert, None, serialization.BestAvailableEncryption(password.encode())
    )
    p12 = home.enrolment / "display.p12"
    _write_private(p12, bundle)
    try:
        _nss("pk12util", "-i", str(p12), "-d", db, "-W", password, "-K", "")
    finally:
        p12.unlink(missing_ok=True)


def _issuer_cn(home: TvHome) -> str:
    ca = x509.load_pem_x509_certificate(home.tls().ca.read_bytes())
    names = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise DisplayError("the branch CA has no common name to select the certificate by")
    return str(names[0].value)


def _origin(hub_url: str) -> str:
    parts = urlsplit(hub_url)
    if parts.scheme != "https" or not parts.netloc:
        raise DisplayError("the hub address must be an https:// URL")
    return f"https://{parts.netloc}"


def chromium_policy(home: TvHome) -> dict[str, object]:
    """The managed policy: this CA's certificate for the hub, autoplay for the hub only."""
    origin = _origin(home.hub_url())
    select = {"pattern": origin, "filter": {"ISSUER": {"CN": _issuer_cn(home)}}}
    return {
        "AutoSelectCertificateForUrls": [json.dumps(select, ensure_ascii=False)],
        "AutoplayAllowlist": [origin],
    }


def policy_file(policy_dir: Path, device_id: str) -> Path:
    """One policy file per TV, so several TVs (or tests) on one machine do not collide."""
    return policy_dir / f"branch-edge-display-{device_id}.json"


def write_policy(home: TvHome, policy_dir: Path, device_id: str) -> Path:
    """Write the policy file, world-readable: Chromium runs as the TV's account."""
    path = policy_file(policy_dir, device_id)
    missing = [policy_dir, *policy_dir.parents]
    for folder in reversed([f for f in missing if not f.exists()]):
        folder.mkdir()
        folder.chmod(0o755)  # not the command's umask: Chromium must read it as the TV's user
    text = json.dumps(chromium_policy(home), indent=2, ensure_ascii=False) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o644)
    return path


def kiosk_command(home: TvHome, chromium: str, extra: list[str]) -> list[str]:
    """Chromium in kiosk mode on the hub's display page, with the TV's own profile."""
    url = f"{home.hub_url()}/display"
    return [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={home.profile}", *extra, url]
