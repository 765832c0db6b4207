"""Sealing once per region: each member hub reads the epoch, a revoked or foreign hub does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.bundle import BlindIndexer, identifiers_of, iter_upsert_chunk, record_aad
from sync.errors import BundleError
from sync.keys import GenerationKeys, derive_generation_keys
from sync.region_sealing import (
    derive_epoch_keys,
    epoch_key_id,
    seal_chunks,
    unwrap_epoch_keys,
    wrap_epoch_keys,
)
from sync.synth import SynthOptions, generate

ROOT = Path(__file__).resolve().parent.parent
HQ = Ed25519PrivateKey.generate()


def _open(keys: GenerationKeys, ref: bytes, hs: bytes, sealed: bytes) -> bytes:
    return AESGCM(keys.data_key).decrypt(sealed[:12], sealed[12:], record_aad(ref, 1, hs))


def test_a_member_hub_unwraps_the_epoch_and_reads_every_record_in_todays_format() -> None:
    customers = list(generate(SynthOptions(customers=40, seed=3)))
    lines = [orjson.dumps(c) + b"\n" for c in customers]
    keys = derive_epoch_keys(HQ, "R11", 1)
    chunks = list(seal_chunks(lines, keys, 1, per_chunk=16))
    hub = X25519PrivateKey.generate()
    got = unwrap_epoch_keys(
        wrap_epoch_keys(keys, hub.public_key(), "R11", "B0007"), hub, "R11", "B0007", keys.key_id
    )
    rows = [row for chunk in chunks for row in iter_upsert_chunk(chunk)]
    assert len(chunks) == 3  # 40 records, 16 a chunk
    index = BlindIndexer(got.index_key)
    for customer, (ref, hs, sealed) in zip(customers, rows, strict=True):
        assert orjson.loads(_open(got, ref, hs, sealed)) == customer
        assert ref == index.ref(customer["customer_id"])
        assert hs == b"".join(sorted({index(k, v) for k, v in identifiers_of(customer)}))


def test_a_revoked_or_foreign_hub_learns_nothing_from_the_next_epoch() -> None:
    revoked, member, foreign = (X25519PrivateKey.generate() for _ in range(3))
    old, new = derive_epoch_keys(HQ, "R11", 1), derive_epoch_keys(HQ, "R11", 2)
    other_region = derive_epoch_keys(HQ, "R44", 1)
    lines = [orjson.dumps(c) + b"\n" for c in generate(SynthOptions(customers=3, seed=5))]
    ref, hs, sealed = next(iter_upsert_chunk(next(seal_chunks(lines, new, 1, 10))))
    kept = unwrap_epoch_keys(
        wrap_epoch_keys(old, revoked.public_key(), "R11", "B0001"),
        revoked,
        "R11",
        "B0001",
        old.key_id,
    )
    new_wrap = wrap_epoch_keys(new, member.public_key(), "R11", "B0002")
    for hub in (revoked, foreign):
        with pytest.raises(BundleError):
            unwrap_epoch_keys(new_wrap, hub, "R11", "B0002", new.key_id)
    with pytest.raises(InvalidTag):
        _open(kept, ref, hs, sealed)  # what it kept does not open the new epoch
    assert len({old.data_key, new.data_key, other_region.data_key}) == 3
    assert len({old.index_key, new.index_key, other_region.index_key}) == 3


def test_a_wrap_is_bound_to_its_region_branch_and_epoch() -> None:
    hub = X25519PrivateKey.generate()
    keys = derive_epoch_keys(HQ, "R11", 1)
    wrapped = wrap_epoch_keys(keys, hub.public_key(), "R11", "B0001")
    for region, branch, key_id in (
        ("R12", "B0001", keys.key_id),
        ("R11", "B0002", keys.key_id),
        ("R11", "B0001", epoch_key_id("R11", 2)),
    ):
        with pytest.raises(BundleError):
            unwrap_epoch_keys(wrapped, hub, region, branch, key_id)


def test_region_keys_are_never_a_branchs_keys() -> None:
    region = derive_epoch_keys(HQ, "R11", 1)
    branch = derive_generation_keys(HQ, "R11", region.key_id)
    assert region.data_key != branch.data_key
    assert region.index_key != branch.index_key


def test_the_sealing_cost_bench_runs_small(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sealing_cost", "--customers", "200", "--branches", "1", "3"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    three = result["runs"][1]
    assert three["per_branch"]["records_sealed"] == 600
    assert three["region"]["records_sealed"] == 200
    assert three["region"]["wraps"] == 3
    assert three["revocation_region"]["wraps"] == 2
    assert three["checks"] == {
        "member_reads_new_epoch": True,
        "revoked_reads_old_epoch": True,
        "revoked_reads_new_epoch": False,
        "revoked_has_new_wrap": False,
    }
    assert {"ratio_cpu", "ratio_bytes"} <= set(three)
    assert {"prototype_vs_publish", "model"} <= set(result)
