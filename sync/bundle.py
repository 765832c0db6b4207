"""The bundle format: blind indexes, sealed records, chunk files, signed manifests and pointer.

Byte-by-byte description in docs/sync.md. Everything here is pure (bytes in, bytes out) so
the publisher, the puller and the tests share one definition.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from branch_common.identifiers import normalise
from branch_common.signed_catalogue import ENVELOPE_PREFIX, FORMAT
from branch_common.signed_catalogue import open_envelope as shared_open_envelope
from sync.errors import BundleError, ChunkError, format_errors

__all__ = [
    "DELETE_MAGIC",
    "FORMAT",
    "TAG_BYTES",
    "UPSERT_MAGIC",
    "BlindIndexer",
    "Manifest",
    "blind_index",
    "customer_ref",
    "delete_chunk",
    "holds_tag",
    "identifiers_of",
    "iter_delete_chunk",
    "iter_upsert_chunk",
    "open_envelope",
    "parse_manifest",
    "record_aad",
    "seal_envelope",
    "upsert_chunk_header",
    "upsert_record",
    "utc_now",
]

TAG_BYTES = 16  # truncated HMAC-SHA256; collision math in docs/sync.md
UPSERT_MAGIC = b"BEU1"
DELETE_MAGIC = b"BED1"
_HEAD = struct.Struct(">4sI")
_LEN = struct.Struct(">I")
_MAX_SEALED = 1 << 20  # one customer's sealed record is far below 1 MiB


def blind_index(index_key: bytes, kind: str, normalised: str) -> bytes:
    """Return the blind index of an already normalised identifier."""
    return hmac.digest(index_key, kind.encode() + b"\x00" + normalised.encode(), "sha256")[
        :TAG_BYTES
    ]


class BlindIndexer:
    """HMAC-SHA256 under one index key, with the padded key states computed once.

    Same result as `blind_index`; RFC 2104 §2: H(K^opad || H(K^ipad || m)). Copying the two
    prepared SHA-256 states costs a third of a fresh `hmac.digest` call (which re-derives them).
    """

    def __init__(self, index_key: bytes) -> None:
        if len(index_key) > 64:
            raise ValueError("index key longer than the SHA-256 block")
        padded = index_key.ljust(64, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._by_kind: dict[str, Any] = {}
        for kind in ("pan", "passbook", "id_number", "customer_id"):
            state = self._inner.copy()
            state.update(kind.encode() + b"\x00")
            self._by_kind[kind] = state

    def __call__(self, kind: str, normalised: str) -> bytes:
        """Return the blind index of an already normalised identifier."""
        prepared = self._by_kind.get(kind)
        if prepared is None:
            inner = self._inner.copy()
            inner.update(kind.encode() + b"\x00")
        else:
            inner = prepared.copy()
        inner.update(normalised.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_BYTES]

    def ref(self, customer_id: str) -> bytes:
        """Return the blind reference of HQ's customer id."""
        return self("customer_id", customer_id)


def customer_ref(index_key: bytes, customer_id: str) -> bytes:
    """Return the blind reference of HQ's customer id (cache row key, delete entry)."""
    return blind_index(index_key, "customer_id", customer_id)


def record_aad(ref: bytes, version: int, hs: bytes) -> bytes:
    """Return the associated data binding a sealed record to its customer, version and indexes."""
    return ref + version.to_bytes(8, "big") + hs


def holds_tag(hs: bytes, tag: bytes) -> bool:
    """Tell whether a row's concatenated blind indexes include `tag` (at a 16-byte boundary)."""
    at = hs.find(tag)
    while at > 0 and at % TAG_BYTES:
        at = hs.find(tag, at + 1)
    return at >= 0


def identifiers_of(customer: dict[str, Any]) -> list[tuple[str, str]]:
    """Return every (kind, normalised value) by which a customer can be recognised."""
    out = [("id_number", normalise("id_number", customer["id_number"]))]
    out.extend(("pan", normalise("pan", card["pan"])) for card in customer.get("cards") or ())
    out.extend(
        ("passbook", normalise("passbook", book["account"]))
        for book in customer.get("passbooks") or ()
    )
    return out


def iter_upsert_chunk(data: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Yield (ref, concatenated blind indexes, sealed record) from an upsert chunk."""
    count = _check_head(data, UPSERT_MAGIC)
    pos, end = _HEAD.size, len(data)
    for n in range(count):
        if pos + TAG_BYTES + 1 > end:
            raise ChunkError(f"upsert chunk truncated in record {n}")
        ref = data[pos : pos + TAG_BYTES]
        k = data[pos + TAG_BYTES]
        pos += TAG_BYTES + 1
        hs = data[pos : pos + k * TAG_BYTES]
        pos += k * TAG_BYTES
        if pos + 4 > end or len(hs) != k * TAG_BYTES:
            raise ChunkError(f"upsert chunk truncated in record {n}")
        (size,) = _LEN.unpack_from(data, pos)
        pos += 4
        if size > _MAX_SEALED or size < 12 + 16 or pos + size > end:
            raise ChunkError(f"upsert chunk record {n} has a bad length")
        yield ref, hs, data[pos : pos + size]
        pos += size
    if pos != end:
        raise ChunkError("upsert chunk has trailing bytes")


def iter_delete_chunk(data: bytes) -> Iterator[bytes]:
    """Yield the customer refs of a delete chunk."""
    count = _check_head(data, DELETE_MAGIC)
    if len(data) != _HEAD.size + count * TAG_BYTES:
        raise ChunkError("delete chunk length does not match its record count")
    for pos in range(_HEAD.size, len(data), TAG_BYTES):
        yield data[pos : pos + TAG_BYTES]


def _check_head(data: bytes, magic: bytes) -> int:
    if len(data) < _HEAD.size:
        raise ChunkError("chunk shorter than its header")
    got, count = _HEAD.unpack_from(data)
    if got != magic:
        raise ChunkError(f"chunk starts with {got!r}, expected {magic!r}")
    return int(count)


def upsert_chunk_header(count: int) -> bytes:
    """Return the header of an upsert chunk of `count` records."""
    return _HEAD.pack(UPSERT_MAGIC, count)


def delete_chunk(refs: list[bytes]) -> bytes:
    """Return a delete chunk for blind customer refs."""
    return _HEAD.pack(DELETE_MAGIC, len(refs)) + b"".join(refs)


def upsert_record(ref: bytes, hs: list[bytes], sealed: bytes) -> bytes:
    """Return one upsert record (ref, blind indexes, sealed customer)."""
    if len(hs) > 255:
        raise ValueError("at most 255 identifiers per customer")
    return ref + bytes((len(hs),)) + b"".join(hs) + _LEN.pack(len(sealed)) + sealed


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def seal_envelope(body: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """Serialise a manifest or pointer and sign it: {"body": "<json>", "signature": "<b64>"}."""
    text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    sig = key.sign(ENVELOPE_PREFIX + text)
    return (
        orjson.dumps({"body": text.decode(), "signature": base64.b64encode(sig).decode()}) + b"\n"
    )


def open_envelope(data: bytes, key: Ed25519PublicKey, what: str) -> dict[str, Any]:
    """Verify a signed envelope with HQ's public key and return its body."""
    with format_errors():
        return shared_open_envelope(data, key, what)


class Manifest:
    """A verified manifest body with typed accessors."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        try:
            self.kind: str = body["kind"]
            self.branch_id: str = body["branch_id"]
            self.sequence: int = int(body["sequence"])
            base = body["base_sequence"]
            self.base_sequence: int | None = None if base is None else int(base)
            self.key_id: str = body["key_id"]
            self.created: str = body["created"]
            self.wrapped_keys: dict[str, Any] = body["wrapped_keys"]
            self.chunks: list[dict[str, Any]] = [
                {
                    "sha256": str(c["sha256"]),
                    "size": int(c["size"]),
                    "records": int(c["records"]),
                    "kind": str(c["kind"]),
                }
                for c in body["chunks"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"manifest is missing or mistypes a field: {exc}") from exc
        for name in ("kind", "branch_id", "key_id", "created"):
            if not isinstance(getattr(self, name), str):
                raise BundleError(f"manifest field {name!r} is not a string")
        if not isinstance(self.wrapped_keys, dict):
            raise BundleError("manifest field 'wrapped_keys' is not an object")
        if self.kind not in {"snapshot", "delta"}:
            raise BundleError(f"manifest kind {self.kind!r} is neither snapshot nor delta")
        if (self.kind == "delta") != (self.base_sequence is not None):
            raise BundleError("a delta (and only a delta) has a base sequence")
        for c in self.chunks:
            sha = c["sha256"]
            if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
                raise BundleError(f"manifest lists a chunk with a bad hash {sha[:70]!r}")
            if c["kind"] not in {"upsert", "delete"}:
                raise BundleError(f"manifest lists a chunk of unknown kind {c['kind']!r}")


def parse_manifest(data: bytes, key: Ed25519PublicKey) -> Manifest:
    """Verify and parse a manifest file."""
    return Manifest(open_envelope(data, key, "manifest"))
