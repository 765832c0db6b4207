"""Key files and key wrapping: HQ's Ed25519 signing key, a hub's X25519 sync key.

Per key generation, HQ derives an index key (HMAC-SHA256) and a data key (AES-256-GCM)
for one branch and wraps both for that branch's hub with ephemeral-static X25519 + HKDF-SHA256
+ AES-256-GCM (the construction of RFC 9180 HPKE's DHKEM, reduced to one message).
Layout of every field: docs/sync.md.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.errors import BundleError, KeyFileError

__all__ = [
    "WRAP_ALG",
    "GenerationKeys",
    "derive_generation_keys",
    "fingerprint",
    "keys_from_hq_secret",
    "load_hub_private",
    "load_hub_public",
    "load_signing_private",
    "load_signing_public",
    "record_nonce_key",
    "unwrap_keys",
    "wrap_keys",
    "write_key_pair",
]

WRAP_ALG = "X25519-HKDF-SHA256-A256GCM"
_RAW = serialization.PublicFormat.Raw
_RAW_ENC = serialization.Encoding.Raw


@dataclass(frozen=True, repr=False)
class GenerationKeys:
    """The index and data keys of one key generation of one branch."""

    key_id: str
    index_key: bytes
    data_key: bytes

    def __repr__(self) -> str:
        return f"GenerationKeys(key_id={self.key_id!r}, <secret>)"


def _write_private(path: Path, data: bytes) -> None:
    # O_EXCL: never overwrite an existing private key by accident; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_key_pair(kind: str, private_path: Path, public_path: Path) -> str:
    """Create an 'hq' (Ed25519 signing) or 'hub' (X25519 sync) key pair; return its fingerprint."""
    if kind == "hq":
        priv: Ed25519PrivateKey | X25519PrivateKey = Ed25519PrivateKey.generate()
    elif kind == "hub":
        priv = X25519PrivateKey.generate()
    else:
        raise KeyFileError(f"unknown key kind {kind!r} (expected 'hq' or 'hub')")
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    pem = priv.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(private_path, pem)
    pub = priv.public_key()
    public_path.write_bytes(
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return fingerprint(pub)


def fingerprint(public: Ed25519PublicKey | X25519PublicKey) -> str:
    """Return the SHA-256 (hex) of a public key's raw 32 bytes."""
    return hashlib.sha256(public.public_bytes(_RAW_ENC, _RAW)).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from exc


def _load_private(path: Path) -> object:
    data = _read(path)
    try:
        if data.startswith(b"-----BEGIN"):
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not an unencrypted PEM/DER private key") from exc


def _load_public(path: Path) -> object:
    data = _read(path)
    try:
        if data.startswith(b"-----BEGIN"):
            return serialization.load_pem_public_key(data)
        return serialization.load_der_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a PEM/DER public key") from exc


def load_signing_private(path: Path) -> Ed25519PrivateKey:
    """Load HQ's Ed25519 signing key."""
    key = _load_private(path)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key (HQ signing key)")
    return key


def load_signing_public(path: Path) -> Ed25519PublicKey:
    """Load HQ's Ed25519 public key."""
    key = _load_public(path)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key (HQ signing key)")
    return key


def load_hub_private(path: Path) -> X25519PrivateKey:
    """Load a hub's X25519 sync key."""
    key = _load_private(path)
    if not isinstance(key, X25519PrivateKey):
        raise KeyFileError(f"{path} is not an X25519 private key (hub sync key)")
    return key


def load_hub_public(path: Path) -> X25519PublicKey:
    """Load a hub's X25519 sync public key."""
    key = _load_public(path)
    if not isinstance(key, X25519PublicKey):
        raise KeyFileError(f"{path} is not an X25519 public key (hub sync key)")
    return key


def derive_generation_keys(
    signing_key: Ed25519PrivateKey, branch_id: str, key_id: str
) -> GenerationKeys:
    """Derive one branch's index and data keys for a key id from HQ's secret (docs/sync.md)."""
    info = b"branch-edge/v1 generation\x00" + branch_id.encode() + b"\x00" + key_id.encode()
    return keys_from_hq_secret(signing_key, key_id, b"branch-edge/v1 generation-keys", info)


def keys_from_hq_secret(
    signing_key: Ed25519PrivateKey, key_id: str, salt: bytes, info: bytes
) -> GenerationKeys:
    """An index and a data key derived from HQ's secret (HKDF-SHA256; `info` names their use)."""
    seed = signing_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    out = HKDF(algorithm=SHA256(), length=64, salt=salt, info=info).derive(seed)
    return GenerationKeys(key_id, out[:32], out[32:])


def _label(branch_id: str, key_id: str) -> bytes:
    return b"branch-edge/v1 key-wrap\x00" + branch_id.encode() + b"\x00" + key_id.encode()


def _wrapping_key(shared: bytes, eph: bytes, hub: bytes, branch_id: str, key_id: str) -> bytes:
    return HKDF(
        algorithm=SHA256(), length=32, salt=eph + hub, info=_label(branch_id, key_id)
    ).derive(shared)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def record_nonce_key(keys: GenerationKeys) -> bytes:
    """Return the key of the synthetic record nonces, separate from the data key (docs/sync.md)."""
    return HKDF(
        algorithm=SHA256(), length=32, salt=b"branch-edge/v1 record-nonce", info=b""
    ).derive(keys.data_key)


def _wrap_secrets(keys: GenerationKeys, hub_raw: bytes, branch_id: str) -> tuple[bytes, bytes]:
    """The ephemeral X25519 secret and nonce of a wrap, derived from what is wrapped (docs/sync.md)."""
    out = HKDF(
        algorithm=SHA256(),
        length=32 + 12,
        salt=b"branch-edge/v1 wrap-ephemeral",
        info=_label(branch_id, keys.key_id) + b"\x00" + hub_raw,
    ).derive(keys.index_key + keys.data_key)
    return out[:32], out[32:]


def wrap_keys(keys: GenerationKeys, hub: X25519PublicKey, branch_id: str) -> dict[str, Any]:
    """Wrap the generation keys for one hub's public key (the manifest's `wrapped_keys`)."""
    hub_raw = hub.public_bytes(_RAW_ENC, _RAW)
    secret, nonce = _wrap_secrets(keys, hub_raw, branch_id)
    eph = X25519PrivateKey.from_private_bytes(secret)
    eph_pub = eph.public_key().public_bytes(_RAW_ENC, _RAW)
    kek = _wrapping_key(eph.exchange(hub), eph_pub, hub_raw, branch_id, keys.key_id)
    sealed = AESGCM(kek).encrypt(
        nonce, keys.index_key + keys.data_key, _label(branch_id, keys.key_id)
    )
    return {
        "alg": WRAP_ALG,
        "recipient": hashlib.sha256(hub_raw).hexdigest(),
        "ephemeral": _b64(eph_pub),
        "nonce": _b64(nonce),
        "sealed": _b64(sealed),
    }


def unwrap_keys(
    wrapped: dict[str, Any], hub: X25519PrivateKey, branch_id: str, key_id: str
) -> GenerationKeys:
    """Unwrap a manifest's `wrapped_keys` with the hub's private key."""
    hub_raw = hub.public_key().public_bytes(_RAW_ENC, _RAW)
    try:
        if wrapped["alg"] != WRAP_ALG:
            raise BundleError(f"unknown key-wrap algorithm {wrapped['alg']!r}")  # noqa: TRY301
        if wrapped["recipient"] != hashlib.sha256(hub_raw).hexdigest():
            raise BundleError(  # noqa: TRY301
                "the bundle's keys are wrapped for another hub key "
                f"(recipient {wrapped['recipient'][:16]}…, this hub "
                f"{hashlib.sha256(hub_raw).hexdigest()[:16]}…)"
            )
        eph_pub = base64.b64decode(wrapped["ephemeral"], validate=True)
        nonce = base64.b64decode(wrapped["nonce"], validate=True)
        sealed = base64.b64decode(wrapped["sealed"], validate=True)
        shared = hub.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        kek = _wrapping_key(shared, eph_pub, hub_raw, branch_id, key_id)
        plain = AESGCM(kek).decrypt(nonce, sealed, _label(branch_id, key_id))
    except BundleError:
        raise
    except (KeyError, TypeError, ValueError, InvalidTag) as exc:
        raise BundleError(
            f"cannot unwrap the keys of key id {key_id!r} for branch {branch_id!r} with this hub's key"
        ) from exc
    if len(plain) != 64:
        raise BundleError("wrapped keys have the wrong length")
    return GenerationKeys(key_id, plain[:32], plain[32:])
