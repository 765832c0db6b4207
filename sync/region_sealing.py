"""Sealing once per region: epoch keys, one sealed copy, the epoch keys wrapped for each hub.

A measurement prototype (bench.sealing_cost), not the production path: `sync.publisher` seals
one copy per branch. The chunks are today's upsert chunks (sync.bundle), sealed exactly as
`sync.sealing` seals them, only under a region epoch's keys; each branch's manifest carries the
epoch keys wrapped for that branch's hub key. Design and decision: docs/sync.md, "Per-branch or
per-region sealing".
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.bundle import (
    FORMAT,
    BlindIndexer,
    record_aad,
    seal_envelope,
    upsert_chunk_header,
    upsert_record,
)
from sync.errors import BundleError
from sync.export_reader import parse_line
from sync.keys import WRAP_ALG, GenerationKeys, keys_from_hq_secret

__all__ = [
    "branch_manifest",
    "derive_epoch_keys",
    "epoch_key_id",
    "seal_chunks",
    "unwrap_epoch_keys",
    "wrap_epoch_keys",
]

_RAW = serialization.PublicFormat.Raw
_RAW_ENC = serialization.Encoding.Raw


def epoch_key_id(region_id: str, epoch: int) -> str:
    """Return the key id of a region's epoch (a new epoch at every revocation)."""
    return f"{region_id}.e{epoch}"


def derive_epoch_keys(signing_key: Ed25519PrivateKey, region_id: str, epoch: int) -> GenerationKeys:
    """Derive a region epoch's index and data keys from HQ's secret (never a branch's keys)."""
    key_id = epoch_key_id(region_id, epoch)
    info = b"branch-edge/v1 region-epoch\x00" + region_id.encode() + b"\x00" + key_id.encode()
    return keys_from_hq_secret(signing_key, key_id, b"branch-edge/v1 region-epoch-keys", info)


def _label(region_id: str, key_id: str, branch_id: str) -> bytes:
    parts = (region_id.encode(), key_id.encode(), branch_id.encode())
    return b"branch-edge/v1 region-wrap\x00" + b"\x00".join(parts)


def _kek(shared: bytes, eph: bytes, hub: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=eph + hub, info=label).derive(shared)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wrap_epoch_keys(
    keys: GenerationKeys, hub: X25519PublicKey, region_id: str, branch_id: str
) -> dict[str, Any]:
    """Wrap a region epoch's keys for one branch's hub key (same construction as sync.keys)."""
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(_RAW_ENC, _RAW)
    hub_raw = hub.public_bytes(_RAW_ENC, _RAW)
    label = _label(region_id, keys.key_id, branch_id)
    nonce = os.urandom(12)
    sealed = AESGCM(_kek(eph.exchange(hub), eph_pub, hub_raw, label)).encrypt(
        nonce, keys.index_key + keys.data_key, label
    )
    return {
        "alg": WRAP_ALG,
        "recipient": hashlib.sha256(hub_raw).hexdigest(),
        "ephemeral": _b64(eph_pub),
        "nonce": _b64(nonce),
        "sealed": _b64(sealed),
    }


def unwrap_epoch_keys(
    wrapped: dict[str, Any], hub: X25519PrivateKey, region_id: str, branch_id: str, key_id: str
) -> GenerationKeys:
    """Unwrap a region epoch's keys with a hub's private key; BundleError if they are not its."""
    hub_raw = hub.public_key().public_bytes(_RAW_ENC, _RAW)
    label = _label(region_id, key_id, branch_id)
    try:
        if (
            wrapped["alg"] != WRAP_ALG
            or wrapped["recipient"] != hashlib.sha256(hub_raw).hexdigest()
        ):
            raise BundleError("the epoch keys are not wrapped for this hub key")  # noqa: TRY301
        eph_pub = base64.b64decode(wrapped["ephemeral"], validate=True)
        shared = hub.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        plain = AESGCM(_kek(shared, eph_pub, hub_raw, label)).decrypt(
            base64.b64decode(wrapped["nonce"], validate=True),
            base64.b64decode(wrapped["sealed"], validate=True),
            label,
        )
    except BundleError:
        raise
    except (KeyError, TypeError, ValueError, InvalidTag) as exc:
        raise BundleError(f"cannot unwrap epoch {key_id!r} for branch {branch_id!r}") from exc
    if len(plain) != 64:
        raise BundleError("wrapped epoch keys have the wrong length")
    return GenerationKeys(key_id, plain[:32], plain[32:])


def seal_chunks(
    lines: Sequence[bytes], keys: GenerationKeys, version: int, per_chunk: int
) -> Iterator[bytes]:
    """Seal export lines into upsert chunks of `per_chunk` records (as sync.sealing does)."""
    index = BlindIndexer(keys.index_key)
    aes = AESGCM(keys.data_key)
    for start in range(0, len(lines), per_chunk):
        block = lines[start : start + per_chunk]
        nonces = os.urandom(12 * len(block))
        records = []
        for i, line in enumerate(block):
            customer, cid, ids = parse_line(line)
            ref = index.ref(cid)
            hs = sorted({index(kind, value) for kind, value in ids})
            nonce = nonces[12 * i : 12 * i + 12]
            aad = record_aad(ref, version, b"".join(hs))
            sealed = nonce + aes.encrypt(nonce, orjson.dumps(customer), aad)
            records.append(upsert_record(ref, hs, sealed))
        yield upsert_chunk_header(len(records)) + b"".join(records)


def branch_manifest(
    signing_key: Ed25519PrivateKey,
    branch_id: str,
    key_id: str,
    wrapped: dict[str, Any],
    chunks: list[dict[str, Any]],
    region_id: str | None = None,
) -> bytes:
    """Return one branch's signed snapshot manifest (with `region_id` when the chunks are shared)."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "kind": "snapshot",
        "branch_id": branch_id,
        "sequence": 1,
        "base_sequence": None,
        "created": "2026-12-03T00:00:00Z",
        "key_id": key_id,
        "wrapped_keys": wrapped,
        "records": sum(int(c["records"]) for c in chunks),
        "deletes": 0,
        "chunks": chunks,
    }
    if region_id is not None:
        body["region_id"] = region_id
    return seal_envelope(body, signing_key)
