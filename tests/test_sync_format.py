"""Bundle format: blind indexes, chunk parsing (property-based), envelopes, key wrapping."""

from __future__ import annotations

import base64
import contextlib
import hmac
import os
import struct

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_common.identifiers import IdentifierError, normalise
from sync.bundle import (
    BlindIndexer,
    blind_index,
    delete_chunk,
    holds_tag,
    iter_delete_chunk,
    iter_upsert_chunk,
    open_envelope,
    parse_manifest,
    seal_envelope,
    upsert_chunk_header,
    upsert_record,
)
from sync.errors import BundleError, ChunkError, SignatureError
from sync.keys import derive_generation_keys, unwrap_keys, wrap_keys

tags = st.binary(min_size=16, max_size=16)
records = st.lists(
    st.tuples(tags, st.lists(tags, max_size=6), st.binary(min_size=28, max_size=300)),
    max_size=8,
)


@given(
    key=st.binary(min_size=32, max_size=32),
    kind=st.sampled_from(["pan", "id_number", "x"]),
    value=st.text(max_size=40),
)
def test_prepared_hmac_equals_hmac_sha256(key: bytes, kind: str, value: str) -> None:
    expected = hmac.digest(key, kind.encode() + b"\x00" + value.encode(), "sha256")[:16]
    assert BlindIndexer(key)(kind, value) == expected == blind_index(key, kind, value)


def test_kind_separates_the_index() -> None:
    index = BlindIndexer(os.urandom(32))
    assert index("pan", "6222020000000000000") != index("passbook", "6222020000000000000")
    assert index.ref("C1") == index("customer_id", "C1")


@given(rows=records)
def test_upsert_chunk_round_trip(rows: list[tuple[bytes, list[bytes], bytes]]) -> None:
    data = upsert_chunk_header(len(rows)) + b"".join(upsert_record(r, hs, s) for r, hs, s in rows)
    assert list(iter_upsert_chunk(data)) == [(r, b"".join(hs), s) for r, hs, s in rows]


@given(rows=records.filter(bool), cut=st.integers(min_value=1, max_value=10_000))
def test_truncated_upsert_chunk_is_a_chunk_error(
    rows: list[tuple[bytes, list[bytes], bytes]], cut: int
) -> None:
    data = upsert_chunk_header(len(rows)) + b"".join(upsert_record(r, hs, s) for r, hs, s in rows)
    short = data[: max(0, len(data) - cut)]
    with pytest.raises(ChunkError):
        list(iter_upsert_chunk(short))


@settings(max_examples=300)
@given(data=st.binary(max_size=400))
def test_garbage_chunks_only_raise_chunk_errors(data: bytes) -> None:
    for blob in (data, b"BEU1" + data, b"BED1" + data):
        for parse in (
            lambda b: list(iter_upsert_chunk(b)),
            lambda b: list(iter_delete_chunk(b)),
        ):
            with contextlib.suppress(ChunkError):
                parse(blob)


def test_upsert_chunk_with_huge_length_field() -> None:
    data = upsert_chunk_header(1) + os.urandom(16) + b"\x00" + struct.pack(">I", 2**31) + b"x" * 40
    with pytest.raises(ChunkError, match="bad length"):
        list(iter_upsert_chunk(data))


@given(refs=st.lists(tags, max_size=20))
def test_delete_chunk_round_trip(refs: list[bytes]) -> None:
    assert list(iter_delete_chunk(delete_chunk(refs))) == refs
    if refs:
        with pytest.raises(ChunkError):
            list(iter_delete_chunk(delete_chunk(refs)[:-1]))


def test_envelope_signature() -> None:
    key = Ed25519PrivateKey.generate()
    blob = seal_envelope({"format": 1, "sequence": 3}, key)
    assert open_envelope(blob, key.public_key(), "x") == {"format": 1, "sequence": 3}
    with pytest.raises(SignatureError, match="signature does not verify"):
        open_envelope(blob.replace(b"3", b"4"), key.public_key(), "x")
    with pytest.raises(SignatureError, match="signature does not verify"):
        open_envelope(blob, Ed25519PrivateKey.generate().public_key(), "x")
    with pytest.raises(SignatureError, match="not a signed envelope"):
        open_envelope(b"{}", key.public_key(), "x")
    with pytest.raises(BundleError, match="unsupported format"):
        open_envelope(seal_envelope({"format": 99}, key), key.public_key(), "x")


def test_key_wrap_is_bound_to_hub_branch_and_key_id() -> None:
    hq = Ed25519PrivateKey.generate()
    hub, other = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    keys = derive_generation_keys(hq, "B001", "k1")
    assert keys == derive_generation_keys(hq, "B001", "k1")
    assert keys.data_key != derive_generation_keys(hq, "B002", "k1").data_key
    assert keys.index_key != derive_generation_keys(hq, "B001", "k2").index_key
    assert "secret" in repr(keys)
    assert keys.data_key.hex() not in repr(keys)
    wrapped = wrap_keys(keys, hub.public_key(), "B001")
    assert unwrap_keys(wrapped, hub, "B001", "k1") == keys
    with pytest.raises(BundleError, match="another hub key"):
        unwrap_keys(wrapped, other, "B001", "k1")
    with pytest.raises(BundleError, match="cannot unwrap"):
        unwrap_keys(wrapped, hub, "B002", "k1")
    with pytest.raises(BundleError, match="cannot unwrap"):
        unwrap_keys(wrapped, hub, "B001", "k2")
    with pytest.raises(BundleError, match="cannot unwrap"):
        unwrap_keys({**wrapped, "sealed": wrapped["nonce"]}, hub, "B001", "k1")


@given(
    kind=st.sampled_from(["pan", "passbook", "id_number"]),
    value=st.text(alphabet="0123456789xX -./_", max_size=40),
)
def test_normalise_fast_path_agrees_with_the_general_rule(kind: str, value: str) -> None:
    # The general rule: strip separators, then check (and upper-case the ID check letter).
    cleaned = "".join(c for c in value if c not in " -./_")
    try:
        got: str | None = normalise(kind, value)
    except IdentifierError:
        got = None
    if kind == "id_number":
        ok = len(cleaned) == 18 and cleaned[:17].isdigit() and cleaned[17] in "0123456789xX"
        assert got == (cleaned.upper() if ok else None)
    else:
        ok = cleaned.isdigit() and 6 <= len(cleaned) <= 32
        assert got == (cleaned if ok else None)


@given(tags_=st.lists(tags, max_size=6), probe=tags, shift=st.integers(min_value=1, max_value=15))
def test_holds_tag_only_at_tag_boundaries(tags_: list[bytes], probe: bytes, shift: int) -> None:
    hs = b"".join(tags_)
    assert holds_tag(hs, probe) == (probe in tags_)
    if tags_:
        assert holds_tag(hs, tags_[-1])
        # A tag-sized window straddling two tags does not count.
        straddle = (hs + b"\x00" * 16)[shift : shift + 16]
        assert holds_tag(hs, straddle) == (straddle in tags_)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
manifest_fields = st.fixed_dictionaries(
    {"format": st.just(1)},
    optional={
        k: json_values
        for k in (
            "kind",
            "branch_id",
            "sequence",
            "base_sequence",
            "key_id",
            "created",
            "wrapped_keys",
            "chunks",
        )
    },
)
SIGNER = Ed25519PrivateKey.generate()


@settings(max_examples=200)
@given(body=manifest_fields, junk=st.binary(max_size=60))
def test_signed_but_malformed_manifests_are_bundle_errors(
    body: dict[str, object], junk: bytes
) -> None:
    with contextlib.suppress(BundleError):
        parse_manifest(seal_envelope(body, SIGNER), SIGNER.public_key())
    with pytest.raises(BundleError):
        parse_manifest(junk, SIGNER.public_key())


@settings(max_examples=200)
@given(text=st.text(max_size=80))
def test_signed_bodies_that_are_not_json_objects_are_bundle_errors(text: str) -> None:
    # Found by bench.fuzz: a validly signed body that is not JSON escaped as JSONDecodeError.
    sig = SIGNER.sign(b"branch-edge/v1 envelope\x00" + text.encode())
    envelope = orjson.dumps({"body": text, "signature": base64.b64encode(sig).decode()})
    with contextlib.suppress(BundleError):
        parse_manifest(envelope, SIGNER.public_key())
