"""Publisher: bundle layout, no plaintext, malformed export lines (fail or skip, never silent)."""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from sync.bundle import open_envelope, parse_manifest
from sync.errors import ExportError, PublishError
from sync.export_reader import snapshot_blocks
from sync.keys import write_key_pair
from sync.publisher import publish
from sync.synth import SynthOptions, write_export_file

AS_OF = date(2026, 11, 1)


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path / "export.jsonl"
    write_export_file(
        SynthOptions(customers=250, seed=8, as_of=AS_OF), path, workers=1, progress=False
    )
    return path, [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _publish(export: Path, out: Path, hq: Ed25519PrivateKey, **kw: Any) -> Any:
    kw.setdefault("progress", False)
    kw.setdefault("records_per_chunk", 100)
    return publish(
        export, kw.pop("hub", X25519PrivateKey.generate().public_key()), hq, out, "B001", **kw
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_layout_is_static_content_addressed_and_signed(
    export: Any, tmp_path: Path, workers: int
) -> None:
    path, rows = export
    hq = Ed25519PrivateKey.generate()
    out = tmp_path / "pub"
    result = _publish(path, out, hq, workers=workers)
    assert (result.kind, result.sequence, result.records, result.chunks) == ("snapshot", 1, 250, 3)
    pointer = open_envelope((out / "latest.json").read_bytes(), hq.public_key(), "p")
    assert pointer["sequence"] == 1
    assert pointer["export_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    mfile = out / pointer["snapshot"]["manifest"]
    assert mfile.name == hashlib.sha256(mfile.read_bytes()).hexdigest() + ".json"
    manifest = parse_manifest(mfile.read_bytes(), hq.public_key())
    assert (manifest.kind, manifest.branch_id, manifest.sequence, manifest.base_sequence) == (
        "snapshot",
        "B001",
        1,
        None,
    )
    assert [c["records"] for c in manifest.chunks] == [100, 100, 50]
    for c in manifest.chunks:
        data = (out / "chunks" / c["sha256"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == c["sha256"]
        assert len(data) == c["size"]
    # No plaintext personal data anywhere in the bundle.
    blob = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    for r in rows[:50]:
        for needle in (
            r["name"],
            r["id_number"],
            r["cards"][0]["pan"],
            r["customer_id"],
            r["phone"],
        ):
            assert needle.encode() not in blob
    assert not list(out.rglob(".tmp-*"))


def test_delta_needs_the_published_previous_export(export: Any, tmp_path: Path) -> None:
    path, rows = export
    hq = Ed25519PrivateKey.generate()
    hub = X25519PrivateKey.generate().public_key()
    out = tmp_path / "pub"
    with pytest.raises(PublishError, match="needs a published snapshot"):
        _publish(path, out, hq, hub=hub, previous=path)
    _publish(path, out, hq, hub=hub)
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows[:-1]))
    with pytest.raises(PublishError, match="is not the export published as sequence 1"):
        _publish(path, out, hq, hub=hub, previous=other)
    with pytest.raises(PublishError, match="hub's sync key changed"):
        _publish(other, out, hq, previous=path)
    delta = _publish(other, out, hq, hub=hub, previous=path)
    assert (delta.kind, delta.records, delta.deletes) == ("delta", 0, 1)
    assert not list((out / "chunks").glob(".tmp-*"))


def test_a_new_hub_key_gets_a_new_key_id(export: Any, tmp_path: Path) -> None:
    path, _rows = export
    hq, out = Ed25519PrivateKey.generate(), tmp_path / "pub"
    old_hub, new_hub = (X25519PrivateKey.generate().public_key() for _ in range(2))
    assert _publish(path, out, hq, hub=old_hub).key_id == "k1"
    assert _publish(path, out, hq, hub=old_hub).key_id == "k1"  # the same hub: the same keys
    # The hub's key was replaced (revoked): the old key id's keys are the old hub's to derive.
    with pytest.raises(PublishError, match="key id 'k1' is the old hub's"):
        _publish(path, out, hq, hub=new_hub, key_id="k1")
    assert _publish(path, out, hq, hub=new_hub).key_id == "k2"
    assert _publish(path, out, hq, hub=old_hub, key_id="north").key_id == "north"
    assert _publish(path, out, hq, hub=new_hub).key_id == "north.2"
    assert _publish(path, out, hq, hub=old_hub).key_id == "north.3"


def _corrupt(path: Path, tmp_path: Path) -> Path:
    lines = path.read_bytes().splitlines()
    lines[6] = b"{not json"
    bad = orjson.loads(lines[40])
    bad["cards"][0]["pan"] = "62x2"
    lines[40] = orjson.dumps(bad)
    lines[77] = b"[1, 2]"
    lines[120] = lines[119]  # a duplicate customer
    out = tmp_path / "bad.jsonl"
    out.write_bytes(b"\n".join(lines) + b"\n")
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_malformed_line_fails_with_its_number(export: Any, tmp_path: Path, workers: int) -> None:
    bad = _corrupt(export[0], tmp_path)
    out = tmp_path / "pub"
    with pytest.raises(ExportError, match="export line 7: not valid JSON") as info:
        _publish(bad, out, Ed25519PrivateKey.generate(), workers=workers)
    assert info.value.line == 7
    assert not (out / "latest.json").exists()
    assert not list((out / "chunks").iterdir()), "a failed publish leaves no chunks behind"


def test_malformed_lines_skipped_and_reported(export: Any, tmp_path: Path) -> None:
    bad = _corrupt(export[0], tmp_path)
    result = _publish(bad, tmp_path / "pub", Ed25519PrivateKey.generate(), on_error="skip")
    assert result.records == 246
    assert result.skipped == 4
    assert result.skipped_lines == [
        (7, "not valid JSON"),
        (41, "pan: expected 6-32 digits"),
        (78, "not a JSON object"),
        (
            121,
            "customer_id is not greater than the previous line's (the export must be sorted by customer_id, without duplicates)",
        ),
    ]


def test_cli_reports_skipped_lines(
    export: Any, tmp_path: Path, script: Callable[[str], str]
) -> None:
    bad = _corrupt(export[0], tmp_path)
    keys = tmp_path / "keys"
    keys.mkdir()
    write_key_pair("hq", keys / "hq.key", keys / "hq.pub")
    write_key_pair("hub", keys / "hub.key", keys / "hub.pub")
    base = [
        script("branch-sync"),
        "publish",
        "--export",
        str(bad),
        "--branch-pubkey",
        str(keys / "hub.pub"),
        "--signing-key",
        str(keys / "hq.key"),
        "--out",
        str(tmp_path / "pub"),
        "--branch-id",
        "B001",
    ]
    failed = subprocess.run(base, capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "branch-sync: error: export line 7: not valid JSON" in failed.stderr
    assert "Traceback" not in failed.stderr
    skipped = subprocess.run(
        [*base, "--on-error", "skip"], capture_output=True, text=True, check=False
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped export line 41: pan: expected 6-32 digits" in skipped.stderr
    assert "skipped 4 malformed lines" in skipped.stderr
    wrong = subprocess.run(
        [*base[:-4], "--signing-key", str(keys / "hub.key"), "--out", str(tmp_path / "p2")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 1
    assert "not an Ed25519 private key" in wrong.stderr


@given(
    lines=st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=40),
    final_newline=st.booleans(),
    block_bytes=st.integers(min_value=1, max_value=200),
    max_lines=st.integers(min_value=1, max_value=12),
)
def test_snapshot_blocks_keep_every_line_and_its_number(
    lines: list[bytes], final_newline: bool, block_bytes: int, max_lines: int
) -> None:
    text = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    sha = hashlib.sha256()
    blocks = list(snapshot_blocks(io.BytesIO(text), sha, block_bytes, max_lines))
    assert sha.digest() == hashlib.sha256(text).digest()
    expected = text if not text or text.endswith(b"\n") else text + b"\n"
    assert b"".join(b.lines for b in blocks) == expected
    number = 1
    for block in blocks:
        assert block.first == number
        assert 1 <= block.lines.count(b"\n") <= max_lines
        number += block.lines.count(b"\n")
