"""Publish, then pull over real HTTPS (loopback, test CA) and apply: good paths and bad input."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync import cache_apply
from sync.bundle import open_envelope, parse_manifest, seal_envelope
from sync.cache import CustomerCache, apply_delta, cache_status
from sync.errors import (
    BundleError,
    CacheError,
    ChunkError,
    DownloadError,
    RollbackError,
    SequenceGapError,
    SignatureError,
    WrongBranchError,
)
from sync.publisher import PublishResult, publish
from sync.puller import PullResult, pull
from sync.static_server import StaticServer, make_test_pki
from sync.synth import SynthOptions, write_export_file

AS_OF = date(2026, 11, 1)
BRANCH = "B001"


def write_export(path: Path, customers: int, seed: int = 3) -> list[dict[str, Any]]:
    write_export_file(
        SynthOptions(customers=customers, seed=seed, as_of=AS_OF), path, workers=1, progress=False
    )
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def rewrite(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_bytes(
        b"".join(orjson.dumps(r) + b"\n" for r in sorted(rows, key=lambda r: r["customer_id"]))
    )


class World:
    """HQ keys, a hub key, a publication folder served over HTTPS and a hub cache folder."""

    def __init__(self, root: Path, server: StaticServer, ca: Path) -> None:
        self.root, self.server, self.ca = root, server, ca
        self.hq = Ed25519PrivateKey.generate()
        self.hub = X25519PrivateKey.generate()
        self.pub = root / "www" / "branches" / BRANCH
        self.cache = root / "hub" / "cache"
        self.url = server.url + f"branches/{BRANCH}/"

    def publish(self, export: Path, previous: Path | None = None, **kw: Any) -> PublishResult:
        kw.setdefault("workers", 1)
        kw.setdefault("records_per_chunk", 100)
        kw.setdefault("progress", False)
        return publish(
            export,
            kw.pop("hub_public", self.hub.public_key()),
            kw.pop("signing", self.hq),
            kw.pop("out", self.pub),
            kw.pop("branch_id", BRANCH),
            previous=previous,
            **kw,
        )

    def pull(self, **kw: Any) -> PullResult:
        kw.setdefault("ca_file", self.ca)
        kw.setdefault("backoff_s", 0.01)
        kw.setdefault("progress", False)
        return pull(
            kw.pop("url", self.url),
            self.cache,
            hq_public=self.hq.public_key(),
            hub_key=self.hub,
            branch_id=kw.pop("branch_id", BRANCH),
            **kw,
        )

    def sequence(self) -> int:
        status = cache_status(self.cache)
        return status.sequence if status else 0

    def pointer(self) -> dict[str, Any]:
        return open_envelope((self.pub / "latest.json").read_bytes(), self.hq.public_key(), "p")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def world(tmp_path: Path, pki: tuple[Path, Path, Path]) -> Iterator[World]:
    ca, cert, key = pki
    (tmp_path / "www").mkdir()
    with StaticServer(tmp_path / "www", cert, key) as server:
        yield World(tmp_path, server, ca)


@pytest.fixture
def exports(tmp_path: Path) -> tuple[Path, Path, list[dict[str, Any]], list[dict[str, Any]]]:
    """A 300-customer export and a second one: 20 changed, 10 deleted, 5 added."""
    first, second = tmp_path / "export1.jsonl", tmp_path / "export2.jsonl"
    rows = write_export(first, 300)
    new = [dict(r) for r in rows[10:]]
    for r in new[:20]:
        r["tier"] = "private"
        r["aum"] = 9_000_000.0
    extra = write_export(tmp_path / "extra.jsonl", 5, seed=99)
    for i, r in enumerate(extra):
        r["customer_id"] = f"X{i:04d}"
    rewrite(second, new + extra)
    return first, second, rows, new + extra


def test_snapshot_then_delta_over_https(world: World, exports: Any) -> None:
    first, second, rows, rows2 = exports
    snap = world.publish(first)
    assert (snap.kind, snap.sequence, snap.records, snap.chunks) == ("snapshot", 1, 300, 3)
    done = world.pull()
    assert done.applied == ["snapshot 1"]
    assert done.status is not None
    assert (done.status.sequence, done.status.records, done.status.key_id) == (1, 300, "k1")
    assert any(path.endswith("/latest.json") for path, _ in world.server.requests)

    with CustomerCache(world.cache, world.hub, recheck_s=0) as cache:
        c = rows[42]
        pan = c["cards"][0]["pan"]
        spaced = " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))
        found = cache.identify("pan", spaced)
        assert found is not None
        assert found.customer_id == c["customer_id"]
        assert found.record == c
        assert c["name"] not in repr(found)
        idn = c["id_number"]
        assert (
            cache.identify("id_number", idn[:6] + "-" + idn[6:17] + idn[17].lower()).customer_id
            == c["customer_id"]
        )  # type: ignore[union-attr]
        with_book = next(r for r in rows if r["passbooks"])
        assert (
            cache.identify("passbook", with_book["passbooks"][0]["account"]).customer_id
            == with_book["customer_id"]
        )  # type: ignore[union-attr]
        assert cache.identify("pan", "6222020000000000000") is None
        assert cache.sequence == 1
        assert cache.age_s is not None
        assert 0 <= cache.age_s < 60

        delta = world.publish(second, previous=first)
        assert (delta.kind, delta.sequence, delta.base_sequence) == ("delta", 2, 1)
        assert (delta.records, delta.deletes) == (25, 10)
        again = world.pull()
        assert again.applied == ["delta 2"]
        assert again.status is not None
        assert (again.status.sequence, again.status.records) == (2, 295)
        # The open cache picks up the delta (same file, new transaction).
        assert cache.sequence == 2
        assert cache.identify("pan", rows[3]["cards"][0]["pan"]) is None  # deleted
        changed = cache.identify("id_number", rows2[0]["id_number"])
        assert changed is not None
        assert (changed.tier, changed.version) == ("private", 2)
        added = cache.identify("pan", rows2[-1]["cards"][0]["pan"])
        assert added is not None
        assert added.customer_id == "X0004"
        untouched = cache.identify("id_number", rows2[100]["id_number"])
        assert untouched is not None
        assert untouched.version == 1
    assert world.pull().up_to_date
    assert not list((world.cache / "downloads").iterdir()), "applied chunks are cleaned up"


def test_interrupted_download_resumes_with_range(world: World, exports: Any) -> None:
    world.publish(exports[0])
    world.server.faults.cut["chunks/"] = (70_000, 1)  # the connection drops after 70,000 bytes
    assert world.pull().applied == ["snapshot 1"]
    ranges = [r for p, r in world.server.requests if "/chunks/" in p and r]
    assert ranges == ["bytes=65536-"]  # whole 64 KiB pieces were kept and resumed from


def test_next_pull_resumes_a_partial_chunk(world: World, exports: Any) -> None:
    world.publish(exports[0])
    world.server.faults.cut["chunks/"] = (70_000, 1)  # first attempt: 64 KiB kept
    world.server.faults.cut["/chunks/"] = (10, 1)  # the retry: dropped again at once
    with pytest.raises(ChunkError, match="truncated download"):
        world.pull(retries=1)
    assert world.sequence() == 0
    parts = list((world.cache / "downloads").glob("*.part"))
    assert len(parts) == 1
    assert parts[0].stat().st_size == 65536
    assert world.pull().applied == ["snapshot 1"]
    name = parts[0].name.removesuffix(".part")
    assert (f"branches/{BRANCH}/chunks/{name}", "bytes=65536-") in world.server.requests


def test_retries_on_server_errors_then_gives_up(world: World, exports: Any) -> None:
    world.publish(exports[0])
    world.server.faults.status["latest.json"] = (503, 2)
    assert world.pull().applied == ["snapshot 1"]
    world.server.faults.status["latest.json"] = (503, 10)
    with pytest.raises(DownloadError, match="giving up after 3 attempts"):
        world.pull(retries=2)


def test_ca_is_pinned(world: World, exports: Any, tmp_path: Path) -> None:
    world.publish(exports[0])
    other_ca, _, _ = make_test_pki(tmp_path / "other-pki")
    with pytest.raises(DownloadError, match="TLS verification"):
        world.pull(ca_file=other_ca)
    assert world.sequence() == 0


def _first_chunk(world: World) -> Path:
    manifest = parse_manifest(
        (world.pub / world.pointer()["snapshot"]["manifest"]).read_bytes(), world.hq.public_key()
    )
    return world.pub / "chunks" / manifest.chunks[-1]["sha256"]


def test_truncated_chunk_on_the_server(world: World, exports: Any) -> None:
    world.publish(exports[0])
    world.pull()
    world.publish(exports[1], previous=exports[0])
    world.pull()
    world.publish(exports[0])  # snapshot 3: a new sequence in every AAD, so new chunk files
    chunk = _first_chunk(world)
    chunk.write_bytes(chunk.read_bytes()[:1000])
    with pytest.raises(ChunkError, match="truncated"):
        world.pull(retries=1)
    assert world.sequence() == 2  # the delta applied; the broken snapshot did not


def test_tampered_chunk(world: World, exports: Any) -> None:
    world.publish(exports[0])
    chunk = _first_chunk(world)
    data = bytearray(chunk.read_bytes())
    data[500] ^= 1
    chunk.write_bytes(bytes(data))
    with pytest.raises(ChunkError, match="does not match its SHA-256"):
        world.pull()
    assert world.sequence() == 0
    assert not list(world.cache.glob("customers-*"))


def test_bad_signatures(world: World, exports: Any, tmp_path: Path) -> None:
    world.publish(exports[0])
    world.pull()
    good_pointer = (world.pub / "latest.json").read_bytes()
    # A rogue publisher (another Ed25519 key) overwrites the pointer.
    rogue = Ed25519PrivateKey.generate()
    rogue_out = tmp_path / "rogue"
    world.publish(exports[1], signing=rogue, out=rogue_out)
    shutil.copy(rogue_out / "latest.json", world.pub / "latest.json")
    with pytest.raises(SignatureError, match=r"latest\.json: signature does not verify"):
        world.pull()
    # A pointer signed by HQ that names a manifest signed by the rogue key.
    for sub in ("chunks", "manifests"):
        for f in (rogue_out / sub).iterdir():
            shutil.copy(f, world.pub / sub / f.name)
    body = world.pointer() if False else open_envelope(good_pointer, world.hq.public_key(), "p")
    rogue_ptr = open_envelope((rogue_out / "latest.json").read_bytes(), rogue.public_key(), "p")
    body.update(sequence=2, snapshot=rogue_ptr["snapshot"] | {"sequence": 2}, deltas=[])
    (world.pub / "latest.json").write_bytes(seal_envelope(body, world.hq))
    with pytest.raises(SignatureError, match="manifest 2: signature does not verify"):
        world.pull()
    assert world.sequence() == 1


def test_bundle_for_another_branch_or_hub(world: World, exports: Any) -> None:
    world.publish(exports[0], branch_id="B002")
    with pytest.raises(WrongBranchError, match="for branch 'B002', this hub is branch 'B001'"):
        world.pull()
    shutil.rmtree(world.pub)
    world.publish(exports[0], hub_public=X25519PrivateKey.generate().public_key())
    with pytest.raises(BundleError, match="wrapped for another hub key"):
        world.pull()
    assert world.sequence() == 0


def test_rollback_is_refused(world: World, exports: Any) -> None:
    world.publish(exports[0])
    old_pointer = (world.pub / "latest.json").read_bytes()
    world.publish(exports[1], previous=exports[0])
    assert world.pull().applied == ["snapshot 1", "delta 2"]
    (world.pub / "latest.json").write_bytes(old_pointer)  # a stale CDN copy or a replay
    with pytest.raises(RollbackError, match="older than the cache's 2"):
        world.pull()
    assert world.sequence() == 2


def test_delta_with_a_gap(world: World, exports: Any, tmp_path: Path) -> None:
    first, second, rows, _ = exports
    world.publish(first)
    world.pull()
    world.publish(second, previous=first)
    third = tmp_path / "export3.jsonl"
    rewrite(third, rows[50:])
    world.publish(third, previous=second)
    # HQ's pointer loses delta 2: the cache (1) cannot reach 3 and the snapshot is not newer.
    body = world.pointer()
    manifest3 = world.pub / body["deltas"][1]["manifest"]
    body["deltas"] = body["deltas"][1:]
    (world.pub / "latest.json").write_bytes(seal_envelope(body, world.hq))
    with pytest.raises(SequenceGapError, match="cannot reach sequence 3 from the cache's 1"):
        world.pull()
    assert world.sequence() == 1
    # Applying delta 3 directly to a cache at 1 is refused too.
    m3 = parse_manifest(manifest3.read_bytes(), world.hq.public_key())
    with pytest.raises(SequenceGapError, match="starts at sequence 2, the cache is at 1"):
        apply_delta(world.cache, m3, [], world.hub, BRANCH)
    assert world.sequence() == 1


def test_delta_gap_falls_back_to_the_snapshot(world: World, exports: Any) -> None:
    first, second, _, _ = exports
    world.publish(first)
    world.pull()
    world.publish(second, previous=first)  # 2 (never pulled)
    world.publish(second)  # 3: snapshot
    world.publish(first, previous=second)  # 4: delta on 3
    assert world.pull().applied == ["snapshot 3", "delta 4"]
    assert world.sequence() == 4


def _full() -> None:
    raise sqlite3.OperationalError("database or disk is full")


def test_disk_full_during_apply_keeps_the_last_good_version(
    world: World, exports: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, rows, _ = exports
    world.publish(first)
    world.pull()
    world.publish(second, previous=first)
    with monkeypatch.context() as patch:
        patch.setattr(cache_apply, "_apply_delta_chunk", _then(cache_apply._apply_delta_chunk))
        with pytest.raises(CacheError, match="disk is full; the cache stays at sequence 1"):
            world.pull()
    world.publish(first)  # snapshot 3
    with monkeypatch.context() as patch:
        real = cache_apply._insert_snapshot_chunk
        patch.setattr(cache_apply, "_insert_snapshot_chunk", _then(real))
        with pytest.raises(CacheError, match="disk is full; the cache stays at sequence 1"):
            world.pull()
    assert world.sequence() == 1
    assert len(list(world.cache.glob("customers-*.db"))) == 1
    with CustomerCache(world.cache, world.hub) as cache:
        assert cache.identify("pan", rows[3]["cards"][0]["pan"]) is not None
    assert world.pull().applied == ["snapshot 3"]


def _then(real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, then the disk fills up (after the chunk's writes, as SQLite would report it)."""

    def wrapper(*args: Any) -> Any:
        real(*args)
        _full()

    return wrapper


def test_disk_full_on_a_real_tiny_filesystem(world: World, exports: Any, tmp_path: Path) -> None:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs")
    small = tmp_path / "tiny"
    small.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(small)],
        check=False,
        capture_output=True,
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        first, _, rows, _ = exports
        tiny = tmp_path / "tiny.jsonl"
        rewrite(tiny, rows[:20])
        world.publish(tiny)
        kw = {"downloads": tmp_path / "dl"}
        world.cache = small / "cache"
        world.pull(**kw)
        world.publish(first)  # 300 customers: ~300 kB of chunks, more than fits with the DB
        big = tmp_path / "big.jsonl"
        rewrite(big, rows * 1 + [dict(r, customer_id="Z" + r["customer_id"]) for r in rows])
        world.publish(big)
        with pytest.raises(CacheError, match=r"full.*the cache stays at sequence 1"):
            world.pull(**kw)
        assert world.sequence() == 1
        with CustomerCache(world.cache, world.hub) as cache:
            assert cache.identify("id_number", rows[5]["id_number"]) is not None
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_kill_at_any_moment_leaves_the_previous_version(
    world: World, exports: Any, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization as s

    first, second, rows, rows2 = exports
    hq_pem, hub_pem = tmp_path / "hq.pub", tmp_path / "hub.key"
    hq_pem.write_bytes(
        world.hq.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)
    )
    hub_pem.write_bytes(
        world.hub.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    )

    def run(point: str) -> int:
        args = [
            sys.executable,
            "-m",
            "tests.sync_crash",
            point,
            world.url,
            str(world.cache),
            str(world.ca),
            str(hq_pem),
            str(hub_pem),
        ]
        root = Path(__file__).resolve().parent.parent  # where `tests.sync_crash` imports from
        done = subprocess.run(args, capture_output=True, timeout=120, check=False, cwd=root)
        return done.returncode

    world.publish(first)
    for point in ("download:piece", "snapshot:chunk", "snapshot:built"):
        assert run(point) == -9, point
        assert world.sequence() == 0
        if point == "download:piece":
            assert list((world.cache / "downloads").glob("*.part")), "killed mid-chunk"
    assert list(world.cache.glob("customers-*.db")), "a killed build leaves its file behind"
    assert run("snapshot:switched") == -9
    assert world.sequence() == 1  # switched before the kill: complete and usable
    assert run("none") == 0  # up to date; the next pull cleans up what the kills left
    assert len(list(world.cache.glob("customers-*.db"))) == 1
    world.publish(second, previous=first)
    for point in ("download:piece", "delta:chunk", "delta:commit"):
        assert run(point) == -9, point
        assert world.sequence() == 1
        with CustomerCache(world.cache, world.hub) as cache:
            got = cache.identify("pan", rows[3]["cards"][0]["pan"])  # deleted by the delta
            assert got is not None
            assert got.version == 1
    assert run("none") == 0
    assert world.sequence() == 2
    assert len(list(world.cache.glob("customers-*.db"))) == 1
    with CustomerCache(world.cache, world.hub) as cache:
        assert cache.identify("pan", rows[3]["cards"][0]["pan"]) is None
        assert cache.identify("pan", rows2[-1]["cards"][0]["pan"]) is not None


def test_key_rotation_replaces_and_destroys_old_keys(world: World, exports: Any) -> None:
    first, _, rows, _ = exports
    world.publish(first)
    world.pull()
    old_wrapped = parse_manifest(
        (world.pub / world.pointer()["snapshot"]["manifest"]).read_bytes(), world.hq.public_key()
    ).wrapped_keys
    old_db = next(world.cache.glob("customers-*.db"))
    with CustomerCache(world.cache, world.hub, recheck_s=0) as cache:
        with pytest.raises(Exception, match="new key id needs a snapshot"):
            world.publish(first, previous=first, key_id="k2")
        rotated = world.publish(first, key_id="k2")
        assert (rotated.kind, rotated.key_id) == ("snapshot", "k2")
        assert world.pull().applied == ["snapshot 2"]
        status = cache_status(world.cache)
        assert status is not None
        assert status.key_id == "k2"
        assert not old_db.exists()
        # The open reader notices the switch and reopens with the new keys.
        found = cache.identify("pan", rows[7]["cards"][0]["pan"])
        assert found is not None
        assert found.version == 2
    for f in world.cache.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert old_wrapped["sealed"].encode() not in data, f
            assert old_wrapped["ephemeral"].encode() not in data, f


def test_cli_keygen_publish_pull_lookup(
    world: World, exports: Any, script: Callable[[str], str], tmp_path: Path
) -> None:
    first, second, rows, _ = exports
    keys, hub = tmp_path / "keys", tmp_path / "hubdir"
    sync = script("branch-sync")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sync, *args], capture_output=True, text=True, timeout=120, check=False
        )

    assert run("keygen", "--out", str(keys)).returncode == 0
    for name in ("hq_signing.key", "hub_sync.key"):
        assert (keys / name).stat().st_mode & 0o777 == 0o600
    again = run("keygen", "--out", str(keys))
    assert again.returncode == 1
    assert "refusing to overwrite" in again.stderr
    hub.mkdir()
    shutil.copy(keys / "hub_sync.key", hub)
    shutil.copy(keys / "hq_signing.pub", hub)
    out = world.pub
    common = [
        "--branch-pubkey",
        str(keys / "hub_sync.pub"),
        "--signing-key",
        str(keys / "hq_signing.key"),
        "--out",
        str(out),
    ]
    done = run("publish", "--export", str(first), *common, "--branch-id", BRANCH)
    assert done.returncode == 0, done.stderr
    assert "published snapshot 1" in done.stderr
    done = run("publish", "--export", str(second), "--previous", str(first), *common)
    assert "published delta 2" in done.stderr, done.stderr
    done = run(
        "pull",
        "--from",
        world.url,
        "--cache",
        str(hub),
        "--ca-file",
        str(world.ca),
        "--branch-id",
        BRANCH,
    )
    assert done.returncode == 0, done.stderr
    assert "cache at sequence 2" in done.stderr
    done = run("pull", "--from", world.url, "--cache", str(hub), "--ca-file", str(world.ca))
    assert "nothing new" in done.stderr, done.stderr
    c = rows[20]
    done = run("lookup", "--cache", str(hub), "--pan", c["cards"][0]["pan"])
    assert done.returncode == 0, done.stderr
    shown = orjson.loads(done.stdout)
    assert shown["customer_id"] == c["customer_id"]
    assert shown["name"] == c["name"][0] + "*" * (len(c["name"]) - 1)
    assert c["id_number"] not in done.stdout
    assert c["cards"][0]["pan"] not in done.stdout
    missing = run("lookup", "--cache", str(hub), "--id-number", "11010519491231002X")
    assert missing.returncode == 1
    bad = run("lookup", "--cache", str(hub), "--pan", "12ab")
    assert bad.returncode == 2
    assert "pan: expected 6-32 digits" in bad.stderr
    rogue = run(
        "pull",
        "--from",
        world.url,
        "--cache",
        str(hub),
        "--ca-file",
        str(world.ca),
        "--branch-id",
        "B999",
    )
    assert rogue.returncode == 1
    assert "this hub is branch 'B999'" in rogue.stderr


def test_applying_shows_progress_in_records(
    world: World, exports: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, _, _rows2 = exports
    world.publish(first)
    world.pull(progress=True)
    world.publish(second, previous=first)
    world.pull(progress=True)
    err = capsys.readouterr().err
    # A 10M-customer apply takes minutes: the person at the terminal sees records go by.
    assert "apply snapshot 1" in err
    assert "300/300" in err
    assert "apply delta 2" in err


def test_a_delta_chunk_applied_in_slices_changes_every_customer(
    world: World, exports: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, _, rows2 = exports
    world.publish(first)
    world.pull()
    world.publish(second, previous=first)
    monkeypatch.setattr(cache_apply, "DELTA_BATCH", 4)  # 25 upserts: slices of 4, the last of 1
    done = world.pull()
    assert done.status is not None
    assert (done.status.sequence, done.status.records) == (2, 295)
    with CustomerCache(world.cache, world.hub, recheck_s=0) as cache:
        for row in rows2[:20]:  # re-tiered
            found = cache.identify("id_number", row["id_number"])
            assert found is not None
            assert (found.tier, found.version) == ("private", 2)
        for row in rows2[-5:]:  # new customers, after the highest row id
            found = cache.identify("pan", row["cards"][0]["pan"])
            assert found is not None
            assert (found.customer_id, found.version) == (row["customer_id"], 2)
