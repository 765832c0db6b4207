"""PIN and password hashing with scrypt (memory-hard, from the `cryptography` package).

scrypt via `cryptography` (OpenSSL's implementation) rather than argon2-cffi: it is already a
core dependency of every branch-edge machine, is maintained by the PyCA with OpenSSL underneath,
and scrypt is memory-hard (RFC 7914), which is what slows an offline guess of a short PIN.
Parameters n=2**15, r=8, p=1 take 32 MiB and ~0.1 s per check on the hub (RFC 7914 section 2;
the interactive-login figure recommended by the scrypt paper).
"""

from __future__ import annotations

import base64
import hmac
import os

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from branch_hub.security.errors import StaffError

__all__ = ["MIN_SECRET_LEN", "hash_secret", "verify_secret"]

MIN_SECRET_LEN = 6
MAX_SECRET_LEN = 128
_N, _R, _P, _LEN = 2**15, 8, 1, 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_secret_policy(secret: str) -> None:
    """Raise StaffError unless the PIN/password is long enough to be worth hashing."""
    if not MIN_SECRET_LEN <= len(secret) <= MAX_SECRET_LEN:
        raise StaffError(
            f"a PIN or password must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters long"
        )
    if len(set(secret)) == 1:
        raise StaffError("a PIN or password must not repeat one character")


def hash_secret(secret: str) -> str:
    """Hash a PIN/password into a self-describing string 'scrypt$n$r$p$salt$hash'."""
    check_secret_policy(secret)
    salt = os.urandom(16)
    digest = Scrypt(salt=salt, length=_LEN, n=_N, r=_R, p=_P).derive(secret.encode("utf-8"))
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_secret(secret: str, stored: str) -> bool:
    """Return True when the secret matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        digest = base64.b64decode(digest_b64, validate=True)
        kdf = Scrypt(salt=salt, length=len(digest), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    try:
        kdf.verify(secret.encode("utf-8", "surrogatepass")[: MAX_SECRET_LEN * 4], digest)
    except InvalidKey:
        return False
    return True


# A hash to check against when the staff id is unknown, so both cases take the same time.
DUMMY_HASH = (
    f"scrypt${_N}${_R}${_P}${_b64(b'branch-edge-none')}${_b64(hmac.digest(b'k', b'v', 'sha256'))}"
)
