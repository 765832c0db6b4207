"""Privacy: after publish, HTTPS pull, apply and lookups of 100,000 customers, no file the hub
wrote (cache, WAL, SHM, downloads, log, temp) holds a known name, ID number or PAN in UTF-8,
UTF-16 (LE/BE) or GB18030."""

from __future__ import annotations

import logging
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.cache import CustomerCache
from sync.publisher import publish
from sync.puller import pull
from sync.static_server import StaticServer, make_test_pki
from sync.synth import SynthOptions, write_export_file

N = 100_000
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "gb18030")


def needles_of(customers: list[dict[str, object]]) -> list[bytes]:
    """Every encoding of the names, ID numbers and PANs of these customers."""
    out: set[bytes] = set()
    for c in customers:
        values = [str(c["name"]), str(c["id_number"])]
        values += [card["pan"] for card in c["cards"]]  # type: ignore[attr-defined]
        for value in values:
            for enc in ENCODINGS:
                out.add(value.encode(enc))
    return sorted(out)


def grep_files(needles: list[bytes], root: Path, patterns: Path) -> str:
    """Return grep's byte-offset report of any needle in any file under root ('' if none)."""
    # grep -F (Aho-Corasick, C locale) scans ~100 MB for 1,000+ needles in seconds; needles
    # hold no newline byte (see the selection below), so a line-based search misses nothing.
    patterns.write_bytes(b"\n".join(needles) + b"\n")
    done = subprocess.run(
        ["grep", "-r", "-a", "-F", "-o", "-b", "-f", str(patterns), str(root)],
        capture_output=True,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout.decode("latin-1")[:2000]


@pytest.fixture(scope="module")
def hub_dir(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, list[dict[str, object]]]]:
    root = tmp_path_factory.mktemp("privacy")
    export = root / "hq" / "export.jsonl"
    export.parent.mkdir()
    write_export_file(
        SynthOptions(customers=N, seed=77, as_of=date(2026, 11, 1)),
        export,
        workers=2,
        progress=False,
    )
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    www = root / "www"
    publish(export, hub.public_key(), hq, www / "B001", "B001", workers=2, progress=False)
    rng = random.Random(5)
    sample: list[dict[str, object]] = []
    with export.open("rb") as fh:
        rows = [orjson.loads(line) for line in fh]
    # Three-character names only: a 2-character name is 4 bytes in UTF-16/GB18030 and would
    # turn up by chance in ~100 MB of ciphertext (about 100e6 / 2**32 per name).
    candidates = [
        r
        for r in rows
        if len(r["name"]) >= 3 and all(b"\n" not in r["name"].encode(e) for e in ENCODINGS)
    ]
    sample = rng.sample(candidates, 100)
    lookups = rng.sample(rows, 1000)
    del rows, candidates

    hub_root = root / "hub"
    tmp = hub_root / "tmp"
    tmp.mkdir(parents=True)
    log = logging.getLogger("sync")
    handler = logging.FileHandler(hub_root / "hub.log", encoding="utf-8")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    old_tmp = tempfile.tempdir
    tempfile.tempdir = str(tmp)
    mp = pytest.MonkeyPatch()
    mp.setenv("SQLITE_TMPDIR", str(tmp))
    mp.setenv("TMPDIR", str(tmp))
    ca, cert, key = make_test_pki(root / "pki")
    try:
        with StaticServer(www, cert, key) as server:
            done = pull(
                server.url + "B001/",
                hub_root / "cache",
                hq_public=hq.public_key(),
                hub_key=hub,
                branch_id="B001",
                ca_file=ca,
                progress=False,
            )
        assert done.applied == ["snapshot 1"]
        cache = CustomerCache(hub_root / "cache", hub)
        for c in sample + lookups:
            found = cache.identify("id_number", str(c["id_number"]))
            assert found is not None
            assert found.customer_id == c["customer_id"]
            log.info("identified %r", found)  # the masked repr is all a log may carry
        yield hub_root, sample  # the cache stays open: its -wal and -shm files exist
        cache.close()
    finally:
        tempfile.tempdir = old_tmp
        mp.undo()
        log.removeHandler(handler)
        handler.close()


def test_the_search_finds_what_it_looks_for(
    hub_dir: tuple[Path, list[dict[str, object]]], tmp_path: Path
) -> None:
    _, sample = hub_dir
    needles = needles_of(sample)
    control = tmp_path / "control"
    control.mkdir()
    (control / "leak.bin").write_bytes(
        b"\x00" * 100 + str(sample[3]["name"]).encode("utf-16-be") + b"\x01" * 100
    )
    (control / "leak2.bin").write_bytes(str(sample[9]["id_number"]).encode("gb18030"))
    found = grep_files(needles, control, tmp_path / "patterns")
    assert "leak.bin:100:" in found
    assert "leak2.bin:0:" in found


def test_no_personal_data_in_any_file_the_hub_wrote(
    hub_dir: tuple[Path, list[dict[str, object]]], tmp_path: Path
) -> None:
    hub_root, sample = hub_dir
    files = [p for p in hub_root.rglob("*") if p.is_file()]
    names = {
        p.name.rsplit("-", 1)[-1] if p.name.startswith("customers-") else p.name for p in files
    }
    assert {"hub.log", "current", "pull.lock"} <= names
    assert any(p.name.endswith(".db-wal") for p in files)
    assert any(p.name.endswith(".db-shm") for p in files)
    assert sum(p.stat().st_size for p in files) > 50_000_000
    assert "identified Customer(" in (hub_root / "hub.log").read_text(encoding="utf-8")
    needles = needles_of(sample)
    assert len(needles) > 700
    assert grep_files(needles, hub_root, tmp_path / "patterns") == ""
    for path in files:
        if path.suffix in {".db"} or path.name.endswith(("-wal", "-shm")):
            assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    shutil.rmtree(hub_root / "tmp")
