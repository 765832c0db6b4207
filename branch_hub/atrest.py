"""Encryption of hub-local records at rest (event payloads, notes): AES-256-GCM with a hub key."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["AtRestCipher", "AtRestError", "load_or_create_key"]

_NONCE = 12


class AtRestError(Exception):
    """A record stored at rest cannot be decrypted (wrong key, tampered or truncated)."""


class AtRestCipher:
    """Seal and open small records; the associated data binds a record to its row."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("an at-rest key is 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt with a fresh random 96-bit nonce; returns nonce || ciphertext || tag."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt a sealed record, or raise AtRestError."""
        if len(blob) < _NONCE + 16:
            raise AtRestError("sealed record is truncated")
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad)
        except InvalidTag as exc:
            raise AtRestError("sealed record failed authentication") from exc


def load_or_create_key(path: Path) -> bytes:
    """Read the hub's at-rest key, creating it (mode 0600) on first start."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(32)
        # O_EXCL: two processes starting at once must not overwrite each other's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        return key
    if len(key) != 32:
        raise AtRestError(f"{path}: an at-rest key is 32 bytes, found {len(key)}")
    return key
