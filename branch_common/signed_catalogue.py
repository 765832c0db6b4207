"""HQ's signed envelopes and the catalogue's chunk layouts, read the same way by the hub and a tablet.

The byte formats are defined here once (docs/sync.md, docs/catalogue.md): `sync` publishes and
pulls with them, and a tablet checks the copy it takes from its hub's mirror with them, without
importing `sync`. Only the standard library and `cryptography` (both on the tablet).
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "ASSET_NAME",
    "CHUNK_KINDS",
    "ENVELOPE_PREFIX",
    "FILES_MAGIC",
    "FORMAT",
    "ITEMS_MAGIC",
    "MAX_CHUNKS",
    "CatalogueManifestBody",
    "FormatError",
    "decode_files",
    "decode_items",
    "open_envelope",
]

FORMAT = 1
ENVELOPE_PREFIX = b"branch-edge/v1 envelope\x00"
ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\.(png|jpg|pdf)")
CHUNK_KINDS = ("products", "articles", "files")
ITEMS_MAGIC = b"BCJ1"  # zlib-compressed JSON lines
FILES_MAGIC = b"BCF1"  # count, then (name length, name, size, bytes) per file
MAX_INFLATED = 64 << 20
MAX_CHUNKS = 4096
_FILE_HEAD = struct.Struct(">BI")
_HEX = re.compile(r"[0-9a-f]{64}")

Problem = Literal["signature", "bundle", "chunk", "catalogue"]


class FormatError(ValueError):
    """Bytes that are not what HQ signed or not in the format; `kind` says which check failed."""

    def __init__(self, kind: Problem, message: str) -> None:
        super().__init__(message)
        self.kind: Problem = kind


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(data: bytes | str) -> Any:
    return json.loads(data, parse_constant=_no_constant)


def open_envelope(data: bytes, key: Ed25519PublicKey, what: str) -> dict[str, Any]:
    """Verify a signed envelope ({"body": "<json>", "signature": "<b64>"}) and return its body."""
    try:
        outer = _json(data)
        text = outer["body"].encode()
        sig = base64.b64decode(outer["signature"], validate=True)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise FormatError("signature", f"{what} is not a signed envelope") from exc
    try:
        key.verify(sig, ENVELOPE_PREFIX + text)
    except InvalidSignature as exc:
        raise FormatError("signature", f"{what}: signature does not verify with HQ's key") from exc
    try:
        body = _json(text)
    except ValueError as exc:
        # Signed by HQ yet not JSON: an HQ-side bug, still refused with a clear reason.
        raise FormatError("bundle", f"{what}: signed body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        found = body.get("format") if isinstance(body, dict) else None
        raise FormatError("bundle", f"{what}: unsupported format {found!r}")
    return body


def decode_items(data: bytes, what: str, loads: Callable[[bytes], Any] = _json) -> Iterator[Any]:
    """Yield the JSON objects of a products or articles chunk (bounded inflation)."""
    if not data.startswith(ITEMS_MAGIC):
        raise FormatError("chunk", f"{what} chunk does not start with {ITEMS_MAGIC!r}")
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(data[len(ITEMS_MAGIC) :], MAX_INFLATED)
    except zlib.error as exc:
        raise FormatError("chunk", f"{what} chunk is not valid zlib data") from exc
    if inflate.unconsumed_tail or not inflate.eof:
        raise FormatError(
            "chunk", f"{what} chunk inflates past {MAX_INFLATED} bytes or is truncated"
        )
    for n, line in enumerate(raw.splitlines(), 1):
        try:
            yield loads(line)
        except ValueError as exc:
            raise FormatError(
                "catalogue", f"{what} chunk line {n} is not JSON or not UTF-8 text"
            ) from exc


def decode_files(data: bytes) -> Iterator[tuple[str, int, bytes]]:
    """Yield (name, offset in the chunk, bytes) of each file in a files chunk."""
    if len(data) < 8 or not data.startswith(FILES_MAGIC):
        raise FormatError("chunk", f"files chunk does not start with {FILES_MAGIC!r}")
    count, pos = int.from_bytes(data[4:8], "big"), 8
    for n in range(count):
        if pos + _FILE_HEAD.size > len(data):
            raise FormatError("chunk", f"files chunk truncated in file {n}")
        length, size = _FILE_HEAD.unpack_from(data, pos)
        pos += _FILE_HEAD.size
        try:
            name = data[pos : pos + length].decode()
        except UnicodeDecodeError:
            raise FormatError(
                "catalogue", f"files chunk: file {n} has a name that is not UTF-8"
            ) from None
        if not ASSET_NAME.fullmatch(name):
            raise FormatError("catalogue", f"files chunk: file name {name[:70]!r} is not allowed")
        if pos + length + size > len(data):
            raise FormatError("chunk", f"files chunk truncated in file {name!r}")
        yield name, pos + length, data[pos + length : pos + length + size]
        pos += length + size
    if pos != len(data):
        raise FormatError("chunk", "files chunk has trailing bytes")


class CatalogueManifestBody:
    """A verified catalogue manifest body with typed accessors."""

    def __init__(self, body: dict[str, Any]) -> None:
        if body.get("bundle") != "catalogue":
            raise FormatError("bundle", "the manifest is not a catalogue manifest")
        try:
            self.sequence = int(body["sequence"])
            self.created = str(body["created"])
            self.counts = {k: int(body[k]) for k in ("products", "articles", "files")}
            self.chunks: list[dict[str, Any]] = [
                {"sha256": str(c["sha256"]), "size": int(c["size"]), "kind": str(c["kind"])}
                for c in body["chunks"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(
                "bundle", f"catalogue manifest is missing or mistypes a field: {exc}"
            ) from exc
        if len(self.chunks) > MAX_CHUNKS:
            raise FormatError("bundle", f"catalogue manifest lists more than {MAX_CHUNKS} chunks")
        for c in self.chunks:
            if not _HEX.fullmatch(c["sha256"]):
                raise FormatError(
                    "bundle",
                    f"catalogue manifest lists a chunk with a bad hash {c['sha256'][:70]!r}",
                )
            if c["kind"] not in CHUNK_KINDS:
                raise FormatError(
                    "bundle", f"catalogue manifest lists a chunk of unknown kind {c['kind']!r}"
                )
