"""The catalogue bundle: content-addressed chunks, a signed manifest and pointer, HQ's publish.

One folder serves every branch (docs/sync.md, "Product catalogue"): `latest.json` (signed
pointer), `manifests/<sha256>.json` (signed) and `chunks/<sha256>` (immutable). Products,
articles and files are spread over a fixed number of buckets by a hash of their key, and each
bucket is one deterministic chunk, so a changed product changes one chunk and a branch fetches
only that one. Nothing is encrypted: the catalogue is what the bank shows customers anyway.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from branch_common import signed_catalogue as shared
from sync.bundle import FORMAT, open_envelope, seal_envelope, utc_now
from sync.cache_files import fsync_path
from sync.catalogue_assets import check_asset
from sync.catalogue_model import (
    ASSET_NAME,
    Article,
    Catalogue,
    Product,
    article_from_dict,
    check_catalogue,
    product_from_dict,
)
from sync.errors import BundleError, CatalogueError, PublishError, format_errors
from sync.sealing import atomic_write, write_chunk

__all__ = [
    "BUCKETS",
    "CatalogueManifest",
    "CataloguePublishResult",
    "decode_files",
    "decode_items",
    "publish_catalogue",
]

BUNDLE = "catalogue"
# Fixed bucket counts, so the same item always lands in the same chunk across publishes.
BUCKETS = {"products": 64, "articles": 256, "files": 128}
_ITEMS_MAGIC = shared.ITEMS_MAGIC
_FILES_MAGIC = shared.FILES_MAGIC
_FILE_HEAD = struct.Struct(">BI")


def _bucket(key: str, kind: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % BUCKETS[kind]


def _items_chunk(objects: list[dict[str, Any]]) -> bytes:
    lines = b"".join(orjson.dumps(o, option=orjson.OPT_SORT_KEYS) + b"\n" for o in objects)
    return _ITEMS_MAGIC + zlib.compress(lines, 6)


def _files_chunk(files: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(_FILES_MAGIC + len(files).to_bytes(4, "big"))
    for name, data in files:
        raw = name.encode()
        out += _FILE_HEAD.pack(len(raw), len(data)) + raw + data
    return bytes(out)


def decode_items(data: bytes, what: str) -> Iterator[Any]:
    """Yield the JSON objects of a products or articles chunk (bounded inflation)."""
    with format_errors():
        yield from shared.decode_items(data, what, orjson.loads)


def decode_files(data: bytes) -> Iterator[tuple[str, int, bytes]]:
    """Yield (name, offset in the chunk, bytes) of each file in a files chunk."""
    with format_errors():
        yield from shared.decode_files(data)


class CatalogueManifest(shared.CatalogueManifestBody):
    """A verified catalogue manifest body with typed accessors."""

    def __init__(self, body: dict[str, Any]) -> None:
        with format_errors():
            super().__init__(body)


@dataclass
class CataloguePublishResult:
    """What a catalogue publish wrote."""

    sequence: int
    products: int
    articles: int
    files: int
    chunks: int
    new_chunks: int
    bytes: int
    new_bytes: int
    manifest: str
    changed: bool = True


def _validated(catalogue: Catalogue) -> tuple[list[Product], list[Article]]:
    """Check the catalogue exactly as a branch will, so HQ never publishes what branches refuse."""
    products = [product_from_dict(p.to_dict()) for p in catalogue.products]
    articles = [article_from_dict(a.to_dict()) for a in catalogue.articles]
    for name, data in catalogue.assets.items():
        if not ASSET_NAME.fullmatch(name):
            raise CatalogueError(f"file name {name[:70]!r} is not allowed")
        check_asset(name, data)
    check_catalogue(products, articles, set(catalogue.assets))
    return products, articles


def _chunks(catalogue: Catalogue) -> Iterator[tuple[str, bytes]]:
    """Yield (kind, chunk bytes) for every non-empty bucket, in a fixed order."""
    groups: dict[str, list[list[Any]]] = {k: [[] for _ in range(n)] for k, n in BUCKETS.items()}
    for p in sorted(catalogue.products, key=lambda p: p.code):
        groups["products"][_bucket(p.code, "products")].append(p.to_dict())
    for a in sorted(catalogue.articles, key=lambda a: a.article_id):
        groups["articles"][_bucket(a.article_id, "articles")].append(a.to_dict())
    for name in sorted(catalogue.assets):
        groups["files"][_bucket(name, "files")].append((name, catalogue.assets[name]))
    encode: dict[str, Callable[[list[Any]], bytes]] = {
        "products": _items_chunk,
        "articles": _items_chunk,
        "files": _files_chunk,
    }
    for kind, buckets in groups.items():
        for bucket in buckets:
            if bucket:
                yield kind, encode[kind](bucket)


def _previous(out: Path, signing_key: Ed25519PrivateKey) -> CatalogueManifest | None:
    path = out / "latest.json"
    if not path.exists():
        return None
    public = signing_key.public_key()
    try:
        pointer = open_envelope(path.read_bytes(), public, "latest.json")
        if pointer.get("bundle") != BUNDLE:
            raise PublishError(f"{out} holds another kind of bundle, not a catalogue")
        body = open_envelope((out / pointer["manifest"]).read_bytes(), public, "manifest")
    except (BundleError, KeyError, OSError) as exc:
        raise PublishError(f"{out}: cannot read the last catalogue publish ({exc})") from exc
    return CatalogueManifest(body)


def publish_catalogue(
    catalogue: Catalogue, signing_key: Ed25519PrivateKey, out: Path
) -> CataloguePublishResult:
    """Publish the catalogue into OUT (chunks, then manifest, then pointer); unchanged: no-op."""
    products, articles = _validated(catalogue)
    for folder in (out, out / "chunks", out / "manifests"):
        folder.mkdir(parents=True, exist_ok=True)
    previous = _previous(out, signing_key)
    sequence = 1 if previous is None else previous.sequence + 1
    entries: list[dict[str, Any]] = []
    new_files: list[Path] = []
    new_bytes = 0
    try:
        for kind, data in _chunks(catalogue):
            sha, new = write_chunk(out / "chunks", data)
            entries.append({"sha256": sha, "size": len(data), "kind": kind})
            if new:
                new_files.append(out / "chunks" / sha)
                new_bytes += len(data)
        result = CataloguePublishResult(
            sequence, len(products), len(articles), len(catalogue.assets), len(entries),
            len(new_files), sum(e["size"] for e in entries), new_bytes, "",
        )  # fmt: skip
        if previous is not None and previous.chunks == entries:
            result.sequence, result.changed = previous.sequence, False
            return result
        body = {
            "format": FORMAT,
            "bundle": BUNDLE,
            "sequence": sequence,
            "created": utc_now(),
            "products": len(products),
            "articles": len(articles),
            "files": len(catalogue.assets),
            "chunks": entries,
        }
        manifest = seal_envelope(body, signing_key)
        msha = hashlib.sha256(manifest).hexdigest()
        result.manifest = f"manifests/{msha}.json"
        atomic_write(out / result.manifest, manifest)
        new_files.append(out / result.manifest)
        pointer = {
            "format": FORMAT,
            "bundle": BUNDLE,
            "sequence": sequence,
            "created": body["created"],
            "manifest": result.manifest,
            "sha256": msha,
        }
        fsync_path(out / "chunks")
        fsync_path(out / "manifests")
        atomic_write(out / "latest.json", seal_envelope(pointer, signing_key))
        fsync_path(out)
    except BaseException:
        for path in new_files:
            path.unlink(missing_ok=True)
        raise
    return result
