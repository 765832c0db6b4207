"""The enrolment code every device reads, and the CA pin it carries.

`branch-provision enroll` writes `branchedge://enrol?hub=…&ca=<sha256 of the CA>&code=…&id=…&kind=…`
into the QR (a USB scanner types it like a keyboard); a person may also type only the code and
the fingerprint. `branchedge:enrol?` (no slashes) is read the same. The fingerprint has one name,
`ca`, everywhere: in the QR, in the hub's mDNS advert and in the device's settings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.client._errors import HubError, HubRefused, HubUnavailable
from branch_hub.client.enrolment import Enrolment, EnrolRequest, enrol_unverified

__all__ = [
    "MIN_FINGERPRINT_HEX",
    "EnrolmentCode",
    "EnrolmentError",
    "check_pin",
    "fingerprint_matches",
    "fingerprint_of",
    "make_csr",
    "parse_enrolment_code",
    "request_identity",
]

SCHEMES = ("branchedge://enrol", "branchedge:enrol")
MIN_FINGERPRINT_HEX = 16  # 64 bits: what a person can be asked to compare on screen
_HEX = re.compile(r"^[0-9a-f]+$")
_CODE = re.compile(r"^[A-Za-z0-9-]{4,64}$")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class EnrolmentError(Exception):
    """The enrolment code, the hub's CA or the hub's answer is not acceptable."""

    def __init__(self, message: str, message_zh: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh

    @property
    def bilingual(self) -> str:
        """Chinese first, English second (for the screen)."""
        return f"{self.message_zh}\n{self.message}" if self.message_zh else self.message


@dataclass(frozen=True)
class EnrolmentCode:
    """What an enrolment QR (or the typed form) carries."""

    code: str
    hub_url: str | None = None
    ca_fingerprint: str | None = None
    device_id: str | None = None
    kind: str | None = None


def clean_fingerprint(text: str) -> str:
    """Lowercase hex with ':', '-' and spaces removed; raise if too short or not hex."""
    wanted = re.sub(r"[\s:-]", "", text).lower()
    if len(wanted) < MIN_FINGERPRINT_HEX or not _HEX.match(wanted):
        raise EnrolmentError(
            f"the CA fingerprint must be at least {MIN_FINGERPRINT_HEX} hex digits",
            f"CA 指纹至少需要 {MIN_FINGERPRINT_HEX} 位十六进制数字",
        )
    return wanted


def _first(query: dict[str, list[str]], key: str) -> str | None:
    return (query.get(key) or [""])[0].strip() or None


def _from_uri(text: str) -> EnrolmentCode:
    query = parse_qs(urlsplit(text).query)
    hub = _first(query, "hub")
    if hub is not None and not hub.startswith("https://"):
        raise EnrolmentError(
            "the hub address in the code must be an https:// URL",
            "注册码中的中心地址必须以 https:// 开头",
        )
    fp = _first(query, "ca")
    device_id, kind = _first(query, "id"), _first(query, "kind")
    for value in (device_id, kind):
        if value is not None and not _NAME.match(value):
            raise EnrolmentError("the device id or kind in the code is not valid")
    return EnrolmentCode(
        _first(query, "code") or "",
        hub.rstrip("/") if hub else None,
        clean_fingerprint(fp) if fp else None,
        device_id,
        kind,
    )


def parse_enrolment_code(text: str) -> EnrolmentCode:
    """Parse a typed code (`ABCD-1234`) or a QR payload (see the module docstring)."""
    if not isinstance(text, str):
        raise EnrolmentError("the enrolment code must be text")
    text = text.strip()
    parsed = _from_uri(text) if text.startswith(SCHEMES) else EnrolmentCode(text)
    if not _CODE.match(parsed.code):
        raise EnrolmentError(
            "the enrolment code must be 4-64 letters, digits or '-'",
            "注册码应为 4-64 位字母、数字或 '-'",
        )
    return EnrolmentCode(
        parsed.code.upper(), parsed.hub_url, parsed.ca_fingerprint, parsed.device_id, parsed.kind
    )


def fingerprint_of(ca_pem: bytes) -> str:
    """SHA-256 of the certificate's DER encoding, lowercase hex (as `branch-provision` shows it)."""
    try:
        cert = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as exc:
        raise EnrolmentError("the branch CA is not a PEM certificate") from exc
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def fingerprint_matches(ca_pem: bytes, expected: str) -> bool:
    """True if the CA's fingerprint starts with `expected` (≥16 hex digits; ':' and spaces ignored)."""
    return fingerprint_of(ca_pem).startswith(clean_fingerprint(expected))


def check_pin(ca_pem: bytes, expected: str) -> str:
    """The CA's full fingerprint; refuse (in both languages) a CA that is not the pinned one."""
    if not fingerprint_matches(ca_pem, expected):
        raise EnrolmentError(
            "the hub's CA does not match the fingerprint: this is not your branch's hub",
            "中心的 CA 与指纹不符：这不是本网点的中心，已拒绝注册",
        )
    return fingerprint_of(ca_pem)


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


def request_identity(
    hub_url: str, code: str, expected_fp: str, kind: str, device_name: str
) -> tuple[Enrolment, bytes]:
    """Trade the code and a new CSR for a certificate; the answer's CA must match the pin.

    Returns the hub's answer and the new private key (PEM). The caller stores them and then
    confirms with `hub_is_trusted` that the hub's own certificate chains to that CA.
    """
    csr_pem, key_pem = make_csr(device_name)
    try:
        answer = enrol_unverified(hub_url, EnrolRequest(code, csr_pem.decode("ascii"), kind))
    except HubUnavailable as exc:
        raise EnrolmentError(str(exc), "无法连接中心") from exc
    except HubRefused as exc:
        raise EnrolmentError(
            exc.message or f"the hub refused the enrolment ({exc.status})",
            exc.message_zh or "中心拒绝了注册",
        ) from exc
    except HubError as exc:
        raise EnrolmentError(f"the hub's enrolment answer is not usable: {exc}") from exc
    check_pin(answer.ca_certificate.encode("ascii"), expected_fp)
    return answer, key_pem
