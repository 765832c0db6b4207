"""The catalogue bundle: publish, pull over real HTTPS on loopback, deltas, resume, refusals."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.bundle import open_envelope, seal_envelope
from sync.catalogue_assets import PDF_MAX_BYTES, make_picture
from sync.catalogue_bundle import CatalogueManifest, _chunks, publish_catalogue
from sync.catalogue_model import Catalogue
from sync.catalogue_pull import catalogue_status, load_catalogue, pull_catalogue
from sync.catalogue_synth import generate_catalogue
from sync.errors import (
    BundleError,
    CatalogueError,
    ChunkError,
    DownloadError,
    RollbackError,
    SignatureError,
)
from sync.sealing import atomic_write, write_chunk
from sync.static_server import StaticServer, make_test_pki

AS_OF = date(2026, 5, 1)


@dataclasses.dataclass
class World:
    www: Path
    store: Path
    server: StaticServer
    ca: Path
    key: Ed25519PrivateKey

    def pull(self, **kw: object):  # type: ignore[no-untyped-def]
        return pull_catalogue(
            self.server.url,
            self.store,
            hq_public=self.key.public_key(),
            ca_file=self.ca,
            retries=2,
            backoff_s=0.01,
            **kw,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def small() -> Catalogue:
    return generate_catalogue(120, 600, seed=3, as_of=AS_OF)


@pytest.fixture
def world(tmp_path: Path, pki: tuple[Path, Path, Path]) -> Iterator[World]:
    ca, cert, key = pki
    (tmp_path / "www").mkdir()
    with StaticServer(tmp_path / "www", cert, key) as server:
        yield World(tmp_path / "www", tmp_path / "store", server, ca, Ed25519PrivateKey.generate())


def _changed(cat: Catalogue) -> Catalogue:
    """One product renamed and its picture redrawn."""
    first = cat.products[0]
    products = (dataclasses.replace(first, name_zh=first.name_zh + "（新版）"), *cat.products[1:])
    assets = dict(cat.assets)
    if first.image:
        assets[first.image] = make_picture(99, first.category)
    return Catalogue(products, cat.articles, assets)


def test_round_trip_over_https(world: World, small: Catalogue) -> None:
    published = publish_catalogue(small, world.key, world.www)
    result = world.pull()
    assert result.applied
    assert result.fetched_chunks == published.chunks
    applied = load_catalogue(world.store)
    assert applied is not None
    assert applied.status.sequence == 1
    assert applied.catalogue.products == tuple(sorted(small.products, key=lambda p: p.code)) or (
        sorted(applied.catalogue.products, key=lambda p: p.code)
        == sorted(small.products, key=lambda p: p.code)
    )
    assert sorted(applied.catalogue.articles, key=lambda a: a.article_id) == sorted(
        small.articles, key=lambda a: a.article_id
    )
    assert dict(applied.catalogue.assets) == dict(small.assets)
    assert world.pull().applied is False  # nothing new


def test_republishing_the_same_catalogue_changes_nothing(world: World, small: Catalogue) -> None:
    first = publish_catalogue(small, world.key, world.www)
    again = publish_catalogue(small, world.key, world.www)
    assert again.changed is False
    assert again.sequence == first.sequence
    assert again.new_chunks == 0


def test_delta_fetches_only_the_changed_chunks(world: World, small: Catalogue) -> None:
    publish_catalogue(small, world.key, world.www)
    world.pull()
    second = publish_catalogue(_changed(small), world.key, world.www)
    assert second.sequence == 2
    assert second.new_chunks == 2
    world.server.requests.clear()
    result = world.pull()
    fetched = [p for p, _ in world.server.requests if p.startswith("chunks/")]
    assert result.fetched_chunks == 2
    assert len(fetched) == 2
    assert result.reused_chunks == second.chunks - 2
    applied = load_catalogue(world.store)
    assert applied is not None
    assert applied.status.sequence == 2
    assert any(p.name_zh.endswith("（新版）") for p in applied.catalogue.products)


def test_an_interrupted_pull_resumes(world: World, small: Catalogue) -> None:
    published = publish_catalogue(small, world.key, world.www)
    body = open_envelope((world.www / published.manifest).read_bytes(), world.key.public_key(), "m")
    last = body["chunks"][-1]["sha256"]
    world.server.faults.status[last] = (503, 100)  # the host keeps failing on the last chunk
    with pytest.raises((DownloadError, ChunkError), match="HTTP 503"):
        world.pull()
    assert catalogue_status(world.store) is None  # nothing half-applied
    world.server.faults.status.clear()
    world.server.requests.clear()
    result = world.pull()
    fetched = [p for p, _ in world.server.requests if p.startswith("chunks/")]
    assert result.applied
    assert fetched == [f"chunks/{last}"]


def _publish_then_break(world: World, small: Catalogue, how: str) -> None:
    """Publish a good sequence 1, pull it, then publish a broken sequence 2."""
    publish_catalogue(small, world.key, world.www)
    world.pull()
    chunks = list(_chunks(_changed(small)))
    pointer = open_envelope((world.www / "latest.json").read_bytes(), world.key.public_key(), "p")
    body = open_envelope(
        (world.www / pointer["manifest"]).read_bytes(), world.key.public_key(), "m"
    )
    old = {c["sha256"] for c in body["chunks"]}
    entries = []
    for kind, data in chunks:
        sha, _ = write_chunk(world.www / "chunks", data)
        entries.append({"sha256": sha, "size": len(data), "kind": kind})
    body.update(sequence=2, chunks=entries)
    signer = world.key
    if how == "signature":
        signer = Ed25519PrivateKey.generate()
    elif how == "missing":
        new = next(e["sha256"] for e in entries if e["sha256"] not in old)
        (world.www / "chunks" / new).unlink()
    else:
        bad = _bad_chunk(how, chunks)
        sha, _ = write_chunk(world.www / "chunks", bad[1])
        entries[bad[0]] = {"sha256": sha, "size": len(bad[1]), "kind": entries[bad[0]]["kind"]}
    manifest = seal_envelope(body, signer)
    msha = hashlib.sha256(manifest).hexdigest()
    atomic_write(world.www / "manifests" / f"{msha}.json", manifest)
    pointer.update(sequence=2, manifest=f"manifests/{msha}.json", sha256=msha)
    atomic_write(world.www / "latest.json", seal_envelope(pointer, signer))


def _bad_chunk(how: str, chunks: list[tuple[str, bytes]]) -> tuple[int, bytes]:
    from sync.catalogue_bundle import _files_chunk, _items_chunk

    at = next(
        i
        for i, (k, _) in enumerate(chunks)
        if k == ("files" if how in {"image", "pdf"} else "products")
    )
    if how == "image":
        return at, _files_chunk([("p-zz.png", b"\x89PNG\r\n\x1a\nnot really a picture")])
    if how == "pdf":
        return at, _files_chunk([("l-zz.pdf", b"%PDF-1.4\n" + b" " * PDF_MAX_BYTES + b"%%EOF\n")])
    if how == "text":
        return at, _items_chunk([{"code": "WM2026A9999", "name_zh": "坏\x00数据"}])
    return at, b"BCJ1" + b"\x00garbage"


REFUSALS = [
    ("signature", SignatureError, "signature does not verify"),
    ("missing", DownloadError, "HTTP 404"),
    ("image", CatalogueError, "is not a valid PNG image"),
    ("pdf", CatalogueError, "over the .* byte limit"),
    ("text", CatalogueError, "unknown field|contains control characters|is missing"),
    ("garbage", ChunkError, "not valid zlib data"),
]


@pytest.mark.parametrize(("how", "error", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_bad_bundle_is_refused_and_the_previous_stays(
    world: World, small: Catalogue, how: str, error: type[Exception], reason: str
) -> None:
    _publish_then_break(world, small, how)
    with pytest.raises(error, match=reason):
        world.pull()
    applied = load_catalogue(world.store)
    assert applied is not None
    assert applied.status.sequence == 1
    assert not any(p.name_zh.endswith("（新版）") for p in applied.catalogue.products)
    assert not list(world.store.glob(".staging-*"))


def test_rollback_is_refused(world: World, small: Catalogue) -> None:
    publish_catalogue(small, world.key, world.www)
    old = (world.www / "latest.json").read_bytes()
    publish_catalogue(_changed(small), world.key, world.www)
    world.pull()
    (world.www / "latest.json").write_bytes(old)
    with pytest.raises(RollbackError, match="refusing to go back"):
        world.pull()


def test_manifest_kinds_are_checked() -> None:
    with pytest.raises(BundleError, match="not a catalogue manifest"):
        CatalogueManifest({"format": 1, "kind": "snapshot"})
