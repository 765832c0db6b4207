"""Device enrolment: one-time codes (single use, 10-minute expiry) exchanged for a certificate.

The device makes its own key pair and sends a CSR with the code; the hub issues a client
certificate whose CN is the device id and OU the kind the code was made for (the CSR's own
subject is ignored, so a device cannot choose its identity).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from branch_hub.pki import CertifiedKey, issue_client_cert
from branch_hub.security.devices import DeviceRegistry, check_device_id
from branch_hub.security.errors import EnrolmentError

__all__ = ["CODE_TTL_S", "EnrolmentCodes", "Issued", "RateLimiter", "enrol"]

CODE_TTL_S = 600.0
MAX_CSR_BYTES = 8192
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen and typed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
"""


def _hash(code: str) -> str:
    normal = code.upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Issued:
    """The outcome of an enrolment."""

    device_id: str
    kind: str
    cert: x509.Certificate


class EnrolmentCodes:
    """One-time enrolment codes, stored only as hashes."""

    def __init__(self, db_path: Path, clock: Callable[[], float] = time.time) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._clock = clock
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def create(self, device_id: str, kind: str, ttl_s: float = CODE_TTL_S) -> str:
        """Make a code for one device; 16 characters from a 32-letter alphabet = 80 bits."""
        check_device_id(device_id, kind)
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        now = self._clock()
        with self._lock:
            self._db.execute(
                "INSERT INTO enrolment_codes VALUES (?, ?, ?, ?, ?, NULL)",
                (_hash(code), device_id, kind, now, now + ttl_s),
            )
        return code

    def redeem(self, code: str) -> tuple[str, str]:
        """Use a code once; return (device_id, kind) or raise EnrolmentError."""
        if not 1 <= len(code) <= 64:
            raise EnrolmentError("the enrolment code is not valid")
        now = self._clock()
        with self._lock:
            row = self._db.execute(
                "UPDATE enrolment_codes SET used_at = ? "
                "WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? "
                "RETURNING device_id, kind",
                (now, _hash(code), now),
            ).fetchone()
            if row is not None:
                return str(row[0]), str(row[1])
            known = self._db.execute(
                "SELECT used_at, expires_at FROM enrolment_codes WHERE code_hash = ?",
                (_hash(code),),
            ).fetchone()
        if known is None:
            raise EnrolmentError("the enrolment code is not valid")
        if known[0] is not None:
            raise EnrolmentError("this enrolment code was already used; ask for a new one")
        raise EnrolmentError("this enrolment code has expired; ask for a new one")

    def pending(self) -> list[tuple[str, str, float]]:
        """Unused, unexpired codes as (device_id, kind, expires_at)."""
        rows = self._db.execute(
            "SELECT device_id, kind, expires_at FROM enrolment_codes "
            "WHERE used_at IS NULL AND expires_at > ? ORDER BY expires_at",
            (self._clock(),),
        )
        return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]


class RateLimiter:
    """Failed attempts per source in a sliding window, plus a branch-wide ceiling."""

    def __init__(
        self,
        per_source: int = 5,
        overall: int = 30,
        window_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_source, self.overall, self.window_s = per_source, overall, window_s
        self._clock = clock
        self._by_source: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> None:
        while times and now - times[0] > self.window_s:
            times.popleft()

    def retry_after(self, source: str) -> float:
        """Seconds this source must wait, or 0 when it may try now."""
        now = self._clock()
        self._trim(self._all, now)
        mine = self._by_source.get(source, deque())
        self._trim(mine, now)
        waits = []
        if len(mine) >= self.per_source:
            waits.append(self.window_s - (now - mine[0]))
        if len(self._all) >= self.overall:
            waits.append(self.window_s - (now - self._all[0]))
        return max(waits, default=0.0)

    def failed(self, source: str) -> None:
        """Count a failed attempt."""
        now = self._clock()
        if len(self._by_source) > 10_000:  # bound memory under a flood of sources
            self._by_source.clear()
        self._by_source.setdefault(source, deque()).append(now)
        self._all.append(now)


def parse_csr(pem: str) -> ec.EllipticCurvePublicKey:
    """Check a PEM CSR (size, signature, EC P-256 key) and return its public key."""
    data = pem.encode("utf-8", "surrogatepass")
    if len(data) > MAX_CSR_BYTES:
        raise EnrolmentError("the certificate request is too large")
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise EnrolmentError("the certificate request is not a valid PEM CSR") from exc
    if not csr.is_signature_valid:
        raise EnrolmentError("the certificate request's signature does not verify")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise EnrolmentError("the certificate request must carry an EC P-256 public key")
    return key


def enrol(
    codes: EnrolmentCodes, registry: DeviceRegistry, ca: CertifiedKey, code: str, csr_pem: str
) -> Issued:
    """Redeem a code for a CSR: issue the device's certificate and record it in the registry."""
    public_key = parse_csr(csr_pem)  # check the CSR first: a bad CSR does not burn the code
    device_id, kind = codes.redeem(code)
    cert, _ = issue_client_cert(ca, device_id, kind, public_key=public_key)
    registry.register(device_id, kind, cert)
    return Issued(device_id, kind, cert)
