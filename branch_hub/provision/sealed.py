"""The encrypted backup file: a header, then AES-256-GCM chunks under a key from a passphrase.

Layout: MAGIC, a 4-byte big-endian header length, the header (JSON: format version, scrypt
parameters and salt, chunk size, nonce prefix, branch id, creation time), then chunks of
CHUNK bytes of plaintext (the last one shorter, possibly empty), each sealed with nonce =
prefix(7) || counter(4) || last(1) and the whole header as associated data (the STREAM
construction): a changed header, a reordered, altered or missing chunk, or a cut-off end all
fail authentication, and so does a wrong passphrase.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import IO, Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = [
    "FORMAT",
    "BackupHeader",
    "Readable",
    "SealedReader",
    "SealedWriter",
    "UnsealError",
    "read_header",
]

MAGIC = b"BRANCH-EDGE-BACKUP\n\0"
FORMAT = 1
CHUNK = 1 << 20
_TAG = 16
_PREFIX = 7
# scrypt: 128 MiB and about half a second per attempt; a header may not ask for more than this.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 17, 8, 1
_MAX_N, _MAX_R, _MAX_P = 1 << 20, 16, 4
_MAX_HEADER = 64 * 1024

ALTERED = "wrong passphrase or the backup was altered (口令错误，或备份文件已被改动)"


class Readable(Protocol):
    """Anything with a binary `read` (a file, or one read through a progress bar)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to `size` bytes."""
        ...


class UnsealError(Exception):
    """The backup cannot be opened: not a backup, a wrong passphrase or altered bytes."""


@dataclass(frozen=True)
class BackupHeader:
    """What the file says about itself before it is opened (all of it authenticated)."""

    branch_id: str
    created: str
    salt: bytes
    nonce_prefix: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    chunk: int = CHUNK
    format: int = FORMAT

    @classmethod
    def new(cls, branch_id: str, created: str) -> BackupHeader:
        """A header with a fresh salt and nonce prefix."""
        return cls(branch_id, created, os.urandom(16), os.urandom(_PREFIX))

    def encode(self) -> bytes:
        """MAGIC, length and JSON: the bytes every chunk authenticates."""
        body = {
            "format": self.format,
            "kdf": {"name": "scrypt", "n": self.n, "r": self.r, "p": self.p,
                    "salt": self.salt.hex()},
            "cipher": "AES-256-GCM",
            "chunk": self.chunk,
            "nonce_prefix": self.nonce_prefix.hex(),
            "branch_id": self.branch_id,
            "created": self.created,
        }  # fmt: skip
        raw = json.dumps(body, sort_keys=True).encode()
        return MAGIC + struct.pack(">I", len(raw)) + raw

    def key(self, passphrase: str) -> bytes:
        """The 256-bit key (scrypt; slow on purpose)."""
        kdf = Scrypt(salt=self.salt, length=32, n=self.n, r=self.r, p=self.p)
        return kdf.derive(passphrase.encode("utf-8"))


def _parse(raw: bytes) -> BackupHeader:
    try:
        body: dict[str, Any] = json.loads(raw)
        kdf = body["kdf"]
        header = BackupHeader(
            branch_id=str(body["branch_id"]),
            created=str(body["created"]),
            salt=bytes.fromhex(kdf["salt"]),
            nonce_prefix=bytes.fromhex(body["nonce_prefix"]),
            n=int(kdf["n"]),
            r=int(kdf["r"]),
            p=int(kdf["p"]),
            chunk=int(body["chunk"]),
            format=int(body["format"]),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise UnsealError(ALTERED) from exc
    if header.format != FORMAT:
        raise UnsealError(f"backup format {header.format} is not known to this version")
    sane = (
        kdf.get("name") == "scrypt"
        and 2 <= header.n <= _MAX_N
        and header.n & (header.n - 1) == 0
        and 1 <= header.r <= _MAX_R
        and 1 <= header.p <= _MAX_P
        and 1024 <= header.chunk <= 16 * CHUNK
        and len(header.nonce_prefix) == _PREFIX
        and len(header.salt) >= 16
    )
    if not sane:
        raise UnsealError(ALTERED)
    return header


def read_header(stream: Readable) -> tuple[BackupHeader, bytes]:
    """Read and check the header; return it and its exact bytes."""
    magic = stream.read(len(MAGIC))
    if magic != MAGIC:
        raise UnsealError("not a branch-edge backup file (不是网点备份文件)")
    length_raw = stream.read(4)
    if len(length_raw) != 4:
        raise UnsealError(ALTERED)
    (length,) = struct.unpack(">I", length_raw)
    if length > _MAX_HEADER:
        raise UnsealError(ALTERED)
    raw = stream.read(length)
    if len(raw) != length:
        raise UnsealError(ALTERED)
    return _parse(raw), magic + length_raw + raw


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 1 << 32:
        raise UnsealError("backup too large for one file")
    return prefix + struct.pack(">I", counter) + (b"\1" if last else b"\0")


class SealedWriter:
    """A write-only stream that seals what it is given, chunk by chunk, into `out`."""

    def __init__(self, out: IO[bytes], header: BackupHeader, key: bytes) -> None:
        self._out = out
        self._header = header
        self._aad = header.encode()
        self._aead = AESGCM(key)
        self._buffer = bytearray()
        self._counter = 0
        out.write(self._aad)

    def write(self, data: bytes) -> int:
        """Buffer and seal every full chunk."""
        self._buffer += data
        size = self._header.chunk
        while len(self._buffer) > size:  # keep one chunk back: the last must be marked last
            self._seal(bytes(self._buffer[:size]), last=False)
            del self._buffer[:size]
        return len(data)

    def _seal(self, plain: bytes, last: bool) -> None:
        nonce = _nonce(self._header.nonce_prefix, self._counter, last)
        self._out.write(self._aead.encrypt(nonce, plain, self._aad))
        self._counter += 1

    def close(self) -> None:
        """Seal the last chunk (so a cut-off file never authenticates)."""
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()


class SealedReader:
    """A read-only stream of the plaintext; raises UnsealError on the first bad chunk."""

    def __init__(self, stream: Readable, header: BackupHeader, raw: bytes, key: bytes) -> None:
        self._in = stream
        self._header = header
        self._aad = raw
        self._aead = AESGCM(key)
        self._counter = 0
        self._plain = bytearray()
        self._next = stream.read(header.chunk + _TAG)
        self.done = False

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of plaintext (all when negative)."""
        while not self.done and (size < 0 or len(self._plain) < size):
            self._open_next()
        if size < 0:
            size = len(self._plain)
        out = bytes(self._plain[:size])
        del self._plain[:size]
        return out

    def _open_next(self) -> None:
        sealed = self._next
        self._next = self._in.read(self._header.chunk + _TAG)
        last = not self._next
        nonce = _nonce(self._header.nonce_prefix, self._counter, last)
        try:
            self._plain += self._aead.decrypt(nonce, sealed, self._aad)
        except InvalidTag:
            raise UnsealError(ALTERED) from None
        self._counter += 1
        self.done = last

    def drain(self) -> None:
        """Read to the end, so the last chunk's mark (and thus the whole file) is checked."""
        while not self.done:
            self._open_next()
        self._plain.clear()
