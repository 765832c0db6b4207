"""The tablet's own verified copy of HQ's catalogue, taken from its hub's mirror.

```
FOLDER/key.json                   HQ's key, pinned by the first copy ({"ed25519": hex})
FOLDER/current.json               the copy in use: version folder, sequence, digests
FOLDER/v<seq>-<rand>/latest.json  HQ's signed pointer, as fetched
FOLDER/v<seq>-<rand>/manifest.json  HQ's signed manifest
FOLDER/v<seq>-<rand>/chunks/<sha256>  the chunks, each checked against the manifest
FOLDER/v<seq>-<rand>/files.json   image/leaflet name -> [chunk, offset, size, sha256]
FOLDER/v<seq>-<rand>/index.sqlite the search index (build_index) of the verified items
FOLDER/.staging-<rand>/           a refresh in progress (or killed: its chunks are reused)
```

A refresh checks HQ's signature on the pointer and manifest and every chunk's size and SHA-256
before it builds the index, all in a staging folder; `current.json` is then replaced in one
rename, so a refused or killed refresh leaves the previous copy in use. Chunks that did not change
are taken from the previous copy, not fetched again. `open()` checks the copy again (signatures,
chunk hashes, the index's recorded digest) before searching it. `file()` checks `files.json`
against its recorded digest once per copy, keeps it parsed, and hashes every picture it reads.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from branch_common.signed_catalogue import (
    CatalogueManifestBody,
    FormatError,
    decode_files,
    decode_items,
    open_envelope,
)
from branch_hub.client._catalogue_copy_files import (
    CatalogueCopyError,
    CopyResult,
    digest_of,
    read_json,
    sync_folder,
    write_atomic,
)
from branch_hub.client.catalogue_index import build_index
from branch_hub.client.catalogue_search import CatalogueSearch

__all__ = ["CatalogueCopy", "CatalogueCopyError", "CopyResult", "Fetch"]

Fetch = Callable[[str], bytes]
_FORMAT_REASONS = {
    "signature": "catalogue_bad_signature",
    "bundle": "catalogue_bad_bundle",
    "chunk": "catalogue_bad_content",
    "catalogue": "catalogue_bad_content",
}


def _public_key(key_hex: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
    except ValueError:
        raise CatalogueCopyError("catalogue_bad_key", repr(key_hex[:70])) from None


def _chunk_ok(path: Path, sha: str, size: int) -> bool:
    """True when the file at `path` has this size and SHA-256."""
    try:
        return path.stat().st_size == size and digest_of(path) == sha
    except OSError:
        return False


def _opened(data: bytes, key: Ed25519PublicKey, what: str) -> dict[str, Any]:
    try:
        return open_envelope(data, key, what)
    except FormatError as exc:
        raise CatalogueCopyError(_FORMAT_REASONS[exc.kind], str(exc)) from exc


def _fetched(fetch: Fetch, name: str) -> bytes:
    """`fetch(name)`, its failures as a typed refusal (a missing file says so)."""
    try:
        return fetch(name)
    except Exception as exc:
        code = "catalogue_file_missing" if getattr(exc, "status", None) == 404 else None
        raise CatalogueCopyError(code or "catalogue_fetch_failed", f"{name[:70]}: {exc}") from exc


class CatalogueCopy:
    """A folder holding the tablet's verified catalogue copy and its search index."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # files.json of the copy in use as checked against its recorded digest, parsed once:
        # ((version, digest), name -> entry). Each file() still hashes the bytes it reads.
        self._listing: tuple[tuple[str, str], dict[str, Any]] | None = None

    # -- what is held ---------------------------------------------------------------------------
    def _record(self) -> dict[str, Any] | None:
        record: dict[str, Any] | None = read_json(self.folder / "current.json")
        return record

    @property
    def sequence(self) -> int | None:
        """HQ's sequence of the copy in use, or None before the first one."""
        record = self._record()
        return None if record is None else int(record["sequence"])

    @property
    def pinned_key(self) -> str | None:
        """The HQ key this tablet trusts (hex), or None before the first refresh."""
        pinned = read_json(self.folder / "key.json")
        return None if pinned is None else str(pinned["ed25519"])

    # -- refresh --------------------------------------------------------------------------------
    def refresh(self, fetch: Fetch, key_hex: str) -> CopyResult:
        """Bring the copy up to the hub's catalogue, checked whole, or raise and keep the old one."""
        key = self._trusted(key_hex)
        signed_pointer = _fetched(fetch, "latest.json")
        pointer = _opened(signed_pointer, key, "latest.json")
        if self.pinned_key is None:
            write_atomic(self.folder / "key.json", json.dumps({"ed25519": key_hex}).encode())
        sequence = self._sequence_of(pointer)
        if sequence == self.sequence:
            return CopyResult(sequence, applied=False)
        signed_manifest = _fetched(fetch, "manifest.json")
        if hashlib.sha256(signed_manifest).hexdigest() != pointer.get("sha256"):
            raise CatalogueCopyError("catalogue_bad_bundle", "the manifest is not the one signed")
        manifest = self._manifest(signed_manifest, key, sequence)
        staging = self.folder / f".staging-{secrets.token_hex(4)}"
        (staging / "chunks").mkdir(parents=True)
        try:
            result = self._take_chunks(fetch, manifest, staging)
            digests = self._build(staging, manifest, (signed_pointer, signed_manifest))
            self._swap_in(staging, sequence, digests)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._remove_stale()
        return result

    def _trusted(self, key_hex: str) -> Ed25519PublicKey:
        """HQ's key for this refresh: the one given, which must be the one pinned (if any)."""
        key = _public_key(key_hex)
        pinned = self.pinned_key
        if pinned is not None and pinned != key_hex:
            raise CatalogueCopyError("catalogue_key_changed", f"pinned {pinned[:16]}…")
        return key

    def _sequence_of(self, pointer: dict[str, Any]) -> int:
        try:
            if pointer["bundle"] != "catalogue":
                raise CatalogueCopyError("catalogue_bad_bundle", "not a catalogue pointer")
            sequence = int(pointer["sequence"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CatalogueCopyError("catalogue_bad_bundle", f"pointer field {exc}") from exc
        held = self.sequence
        if held is not None and sequence < held:
            raise CatalogueCopyError("catalogue_rollback", f"{sequence} < {held}")
        return sequence

    @staticmethod
    def _manifest(signed: bytes, key: Ed25519PublicKey, sequence: int) -> CatalogueManifestBody:
        try:
            manifest = CatalogueManifestBody(_opened(signed, key, "catalogue manifest"))
        except FormatError as exc:
            raise CatalogueCopyError(_FORMAT_REASONS[exc.kind], str(exc)) from exc
        if manifest.sequence != sequence:
            raise CatalogueCopyError("catalogue_bad_bundle", f"manifest is {manifest.sequence}")
        return manifest

    def _reusable(self) -> list[Path]:
        """Folders whose chunks a refresh may reuse: the copy in use, then killed refreshes."""
        record = self._record()
        held = [self.folder / record["version"] / "chunks"] if record else []
        return held + sorted(self.folder.glob(".staging-*/chunks"))

    def _take_chunks(
        self, fetch: Fetch, manifest: CatalogueManifestBody, staging: Path
    ) -> CopyResult:
        """Every chunk of the manifest into `staging`: reused when unchanged, else fetched."""
        have = [p for p in self._reusable() if p != staging / "chunks"]
        fetched = reused = fetched_bytes = 0
        for c in manifest.chunks:
            sha, size, target = c["sha256"], c["size"], staging / "chunks" / c["sha256"]
            source = next((d / sha for d in have if _chunk_ok(d / sha, sha, size)), None)
            if source is not None:
                shutil.copyfile(source, target)
                reused += 1
                continue
            data = _fetched(fetch, sha)
            if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
                raise CatalogueCopyError("catalogue_bad_chunk", f"chunk {sha[:12]}…")
            target.write_bytes(data)
            fetched, fetched_bytes = fetched + 1, fetched_bytes + len(data)
        return CopyResult(manifest.sequence, True, fetched, reused, fetched_bytes)

    @staticmethod
    def _build(
        staging: Path, manifest: CatalogueManifestBody, signed: tuple[bytes, bytes]
    ) -> dict[str, str]:
        """Decode the verified chunks, index them and keep the signed files; the digests."""
        products: list[Any] = []
        articles: list[Any] = []
        files: dict[str, list[Any]] = {}
        try:
            for c in manifest.chunks:
                data = (staging / "chunks" / c["sha256"]).read_bytes()
                if c["kind"] == "files":
                    for name, offset, blob in decode_files(data):
                        digest = hashlib.sha256(blob).hexdigest()
                        files[name] = [c["sha256"], offset, len(blob), digest]
                else:
                    into = products if c["kind"] == "products" else articles
                    into.extend(decode_items(data, c["kind"]))
            counts = {"products": len(products), "articles": len(articles), "files": len(files)}
            if counts != manifest.counts:
                raise CatalogueCopyError("catalogue_bad_content", f"{counts}")
            build_index(staging / "index.sqlite", products, articles, str(manifest.sequence))
        except (FormatError, ValueError, KeyError, TypeError, sqlite3.Error) as exc:
            raise CatalogueCopyError("catalogue_bad_content", str(exc)[:200]) from exc
        (staging / "files.json").write_bytes(json.dumps(files).encode())
        (staging / "latest.json").write_bytes(signed[0])
        (staging / "manifest.json").write_bytes(signed[1])
        return {
            "manifest_sha256": hashlib.sha256(signed[1]).hexdigest(),
            "index_sha256": digest_of(staging / "index.sqlite"),
            "files_sha256": digest_of(staging / "files.json"),
        }

    def _swap_in(self, staging: Path, sequence: int, digests: dict[str, str]) -> None:
        """Rename the staged copy into place, then point `current.json` at it (one rename)."""
        sync_folder(staging / "chunks")
        sync_folder(staging)
        name = f"v{sequence}-{secrets.token_hex(4)}"
        staging.rename(self.folder / name)
        record = {"version": name, "sequence": sequence, **digests}
        write_atomic(self.folder / "current.json", json.dumps(record).encode())

    def _remove_stale(self) -> None:
        """Drop killed refreshes and versions other than the one in use and the one before it."""
        record = self._record()
        live = record["version"] if record else None
        versions = sorted(self.folder.glob("v*-*"), key=lambda p: p.stat().st_mtime)
        keep = {live, *(p.name for p in versions[-2:-1])}
        for path in [*self.folder.glob(".staging-*"), *versions]:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    def forget_current(self) -> None:
        """Stop using the copy (found changed on disk): the next refresh takes a whole new one."""
        (self.folder / "current.json").unlink(missing_ok=True)

    # -- use ------------------------------------------------------------------------------------
    def open(self) -> CatalogueSearch | None:
        """Search over the copy in use after checking it again; None before the first copy."""
        record = self._record()
        if record is None:
            return None
        version = self.folder / str(record["version"])
        self._check(version, record)
        return CatalogueSearch(version / "index.sqlite")

    def _check(self, version: Path, record: dict[str, Any]) -> None:
        """Refuse a copy whose signed files, chunks, index or file list changed on disk."""
        try:
            problem = self._problem(version, record)
        except CatalogueCopyError as exc:
            problem = exc.detail or exc.reason_code
        except (OSError, KeyError, ValueError) as exc:
            problem = str(exc)[:200]
        if problem is not None:
            raise CatalogueCopyError("catalogue_copy_tampered", problem)

    def _problem(self, version: Path, record: dict[str, Any]) -> str | None:
        """What no longer checks out in the copy at `version`, or None."""
        pinned = self.pinned_key
        if pinned is None:
            return "no pinned key"
        key = _public_key(pinned)
        pointer = _opened((version / "latest.json").read_bytes(), key, "latest.json")
        signed = (version / "manifest.json").read_bytes()
        if (
            not hashlib.sha256(signed).hexdigest()
            == pointer.get("sha256")
            == record["manifest_sha256"]
        ):
            return "manifest.json"
        manifest = self._manifest(signed, key, int(pointer["sequence"]))
        for c in manifest.chunks:
            if not _chunk_ok(version / "chunks" / c["sha256"], c["sha256"], c["size"]):
                return f"chunk {c['sha256'][:12]}"
        for name, digest in (("index.sqlite", "index_sha256"), ("files.json", "files_sha256")):
            if digest_of(version / name) != record[digest]:
                return name
        return None

    def file(self, name: str) -> bytes | None:
        """An image's or leaflet's bytes from the copy in use, hash-checked; None if it has none."""
        record = self._record()
        if record is None:
            return None
        version = self.folder / str(record["version"])
        entry = self._files(version, record).get(name)
        if entry is None:
            return None
        chunk, offset, size, digest = entry
        with (version / "chunks" / chunk).open("rb") as fh:
            fh.seek(offset)
            data: bytes = fh.read(size)
        if hashlib.sha256(data).hexdigest() != digest:
            raise CatalogueCopyError("catalogue_copy_tampered", f"file {name[:70]}")
        return data

    def _files(self, version: Path, record: dict[str, Any]) -> dict[str, Any]:
        """The copy's file list, checked against its recorded digest when first read."""
        held = (str(record["version"]), str(record["files_sha256"]))
        if self._listing is not None and self._listing[0] == held:
            return self._listing[1]
        listing = (version / "files.json").read_bytes()
        if hashlib.sha256(listing).hexdigest() != held[1]:
            raise CatalogueCopyError("catalogue_copy_tampered", "files.json")
        entries: dict[str, Any] = json.loads(listing)
        self._listing = (held, entries)
        return entries
