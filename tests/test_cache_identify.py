"""Encrypted cache: identify by any identifier form, misses, tampering, status, wrong keys."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from branch_common.identifiers import IdentifierError
from sync.cache import CustomerCache, cache_status
from sync.errors import CacheError
from sync.publisher import publish
from sync.puller import pull
from sync.synth import SynthOptions, write_export_file


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, X25519PrivateKey, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("cache")
    export = root / "export.jsonl"
    write_export_file(
        SynthOptions(customers=400, seed=21, as_of=date(2026, 11, 1)),
        export,
        workers=1,
        progress=False,
    )
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    publish(export, hub.public_key(), hq, root / "pub", "B001", workers=1, progress=False)
    assert cache_status(root / "cache") is None
    pull(
        (root / "pub").as_uri(),
        root / "cache",
        hq_public=hq.public_key(),
        hub_key=hub,
        branch_id="B001",
        progress=False,
    )
    return root / "cache", hub, [orjson.loads(line) for line in export.read_bytes().splitlines()]


def test_identify_every_identifier_in_any_written_form(built: Any) -> None:
    cache_dir, hub, rows = built
    with CustomerCache(cache_dir, hub) as cache:
        for c in rows[:150]:
            idn = c["id_number"]
            forms = [("id_number", idn), ("id_number", f"{idn[:6]} {idn[6:14]} {idn[14:]}".lower())]
            for card in c["cards"]:
                pan = card["pan"]
                forms += [
                    ("pan", pan),
                    ("pan", "-".join(pan[i : i + 4] for i in range(0, len(pan), 4))),
                ]
            forms += [("passbook", b["account"]) for b in c["passbooks"]]
            for kind, value in forms:
                found = cache.identify(kind, value)
                assert found is not None, kind
                assert found.customer_id == c["customer_id"]
                assert found.record == c
                assert (found.name, found.tier, found.version) == (c["name"], c["tier"], 1)


def test_misses_and_malformed_values(built: Any) -> None:
    cache_dir, hub, rows = built
    with CustomerCache(cache_dir, hub) as cache:
        assert cache.identify("pan", "6222020000000000018") is None
        assert cache.identify("passbook", rows[0]["id_number"][:17]) is None
        # A PAN is not found as a passbook: the kind is part of the HMAC input.
        assert cache.identify("passbook", rows[0]["cards"][0]["pan"]) is None
        with pytest.raises(IdentifierError, match="id_number: expected 17 digits"):
            cache.identify("id_number", "12345")
        with pytest.raises(IdentifierError, match="unknown identifier kind"):
            cache.identify("phone", "13800000000")


def test_status_and_age(built: Any) -> None:
    cache_dir, hub, _ = built
    status = cache_status(cache_dir)
    assert status is not None
    assert (status.branch_id, status.sequence, status.records, status.key_id) == (
        "B001",
        1,
        400,
        "k1",
    )
    assert 0 <= status.age_s < 120
    with CustomerCache(cache_dir, hub) as cache:
        assert cache.sequence == 1
        assert cache.applied_at == status.applied_at


def test_empty_cache_and_wrong_key(tmp_path: Path, built: Any) -> None:
    empty = CustomerCache(tmp_path, X25519PrivateKey.generate())
    assert empty.sequence == 0
    assert empty.age_s is None
    assert empty.identify("pan", "6222020000000000018") is None
    with pytest.raises(CacheError, match=r"cannot open the customer cache.*another hub key"):
        CustomerCache(built[0], X25519PrivateKey.generate())


def _copy(cache_dir: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in cache_dir.iterdir():
        if f.is_file():
            dest.joinpath(f.name).write_bytes(f.read_bytes())
    return dest


def test_a_redirected_index_row_finds_nobody(built: Any, tmp_path: Path) -> None:
    cache_dir, hub, rows = built
    copy = _copy(cache_dir, tmp_path / "copy")
    alice, bob = rows[1], rows[2]
    with CustomerCache(copy, hub) as cache:
        assert cache.identify("pan", alice["cards"][0]["pan"]) is not None
        assert cache._index is not None
        tag = cache._index("pan", alice["cards"][0]["pan"])
    db = next(copy.glob("customers-*.db"))
    conn = sqlite3.connect(db)
    with conn:
        bob_row = conn.execute(
            "SELECT customer FROM blind_index WHERE h = ?",
            (CustomerCache(copy, hub)._index("id_number", bob["id_number"]),),  # type: ignore[misc]
        ).fetchone()[0]
        conn.execute("UPDATE blind_index SET customer = ? WHERE h = ?", (bob_row, tag))
    conn.close()
    with CustomerCache(copy, hub) as cache:
        # Alice's card now points at Bob's row: Bob's authenticated tags do not include it.
        assert cache.identify("pan", alice["cards"][0]["pan"]) is None
        assert cache.identify("id_number", bob["id_number"]).customer_id == bob["customer_id"]  # type: ignore[union-attr]


def test_an_altered_record_is_detected(built: Any, tmp_path: Path) -> None:
    cache_dir, hub, rows = built
    copy = _copy(cache_dir, tmp_path / "copy")
    db = next(copy.glob("customers-*.db"))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE customer SET version = version + 1")
    conn.close()
    with (
        CustomerCache(copy, hub) as cache,
        pytest.raises(CacheError, match="failed authentication"),
    ):
        cache.identify("id_number", rows[5]["id_number"])
