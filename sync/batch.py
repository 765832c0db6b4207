"""The nightly signed batch: one business day's outcome events as JSONL plus an Ed25519 signature.

The hub writes `<branch>-<day>.jsonl` (one event envelope per line, exactly as sent live) and
`<branch>-<day>.sig.json` (branch, day, event count, SHA-256 of the JSONL, and the hub outcome
key's signature over those four fields), then uploads both to HQ's collector, which reconciles
the batch against what it received live. Layout: docs/hq-interface.md, "Nightly batch".
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.errors import SyncError

__all__ = [
    "BatchError",
    "BatchFiles",
    "read_batch",
    "signed_fields",
    "upload_batch",
    "verify_batch",
    "write_batch",
]

CONTEXT = b"branch-edge/v1 batch\x00"
MAX_BATCH = 256 * 1024 * 1024


class BatchError(SyncError):
    """A batch is unsigned, wrongly signed, tampered or malformed, or could not be uploaded."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class BatchFiles:
    """A written batch."""

    jsonl: Path
    signature: Path
    events: int
    sha256: str


def signed_fields(doc: dict[str, Any]) -> bytes:
    """The exact bytes the signature covers."""
    fields = {k: doc[k] for k in ("branch_id", "business_day", "events", "sha256")}
    return CONTEXT + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def write_batch(
    envelopes: Iterable[dict[str, Any]],
    branch_id: str,
    day: str,
    key: Ed25519PrivateKey,
    out_dir: Path,
) -> BatchFiles:
    """Write and sign one business day's batch into out_dir (files replaced atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = out_dir / f"{branch_id}-{day}.jsonl"
    sig = out_dir / f"{branch_id}-{day}.sig.json"
    digest = hashlib.sha256()
    count = 0
    tmp = jsonl.with_suffix(".jsonl.tmp")
    with tmp.open("wb") as fh:
        for env in envelopes:
            if env.get("business_day") != day or env.get("branch_id") != branch_id:
                raise BatchError("malformed", f"event {env.get('idempotency_key')} is not of {day}")
            line = json.dumps(env, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            data = line.encode() + b"\n"
            fh.write(data)
            digest.update(data)
            count += 1
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, jsonl)
    doc: dict[str, Any] = {
        "v": 1,
        "alg": "Ed25519",
        "branch_id": branch_id,
        "business_day": day,
        "events": count,
        "sha256": digest.hexdigest(),
    }
    doc["signature"] = base64.b64encode(key.sign(signed_fields(doc))).decode("ascii")
    sig.write_text(json.dumps(doc, indent=1) + "\n")
    return BatchFiles(jsonl, sig, count, doc["sha256"])


def verify_batch(
    jsonl: bytes, doc: dict[str, Any] | None, public: Ed25519PublicKey
) -> list[dict[str, Any]]:
    """Check a batch's signature and contents; return its events or raise BatchError."""
    if not doc or not doc.get("signature"):
        raise BatchError("unsigned", "the batch carries no signature")
    try:
        sig = base64.b64decode(doc["signature"], validate=True)
        public.verify(sig, signed_fields(doc))
    except (KeyError, ValueError, TypeError, InvalidSignature) as exc:
        raise BatchError(
            "bad_signature", "the batch signature does not verify with this branch's outcome key"
        ) from exc
    if hashlib.sha256(jsonl).hexdigest() != doc["sha256"]:
        raise BatchError("tampered", "the batch contents do not match their signed SHA-256")
    events = []
    for n, line in enumerate(jsonl.splitlines(), 1):
        try:
            env = json.loads(line)
        except ValueError as exc:
            raise BatchError("malformed", f"batch line {n} is not JSON") from exc
        if (
            not isinstance(env, dict)
            or not isinstance(env.get("idempotency_key"), str)
            or env.get("branch_id") != doc["branch_id"]
            or env.get("business_day") != doc["business_day"]
        ):
            raise BatchError("malformed", f"batch line {n} is not an event of this branch and day")
        events.append(env)
    if len(events) != doc["events"]:
        raise BatchError("malformed", f"the batch has {len(events)} events, signed {doc['events']}")
    return events


def read_batch(files: BatchFiles | tuple[Path, Path]) -> tuple[bytes, dict[str, Any]]:
    """Read a batch's JSONL and signature document."""
    jsonl, sig = (files.jsonl, files.signature) if isinstance(files, BatchFiles) else files
    try:
        return jsonl.read_bytes(), json.loads(sig.read_text())
    except (OSError, ValueError) as exc:
        raise BatchError("malformed", f"cannot read batch {jsonl.name}: {exc}") from exc


def upload_batch(
    files: BatchFiles | tuple[Path, Path], collector_url: str, ca_file: str, timeout_s: float = 60
) -> dict[str, Any]:
    """POST a batch to HQ's collector (HQ's CA pinned); return its reconciliation summary."""
    body, doc = read_batch(files)
    header = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()
    try:
        resp = requests.post(
            f"{collector_url.rstrip('/')}/v1/batches",
            data=body,
            headers={"Content-Type": "application/x-ndjson", "Batch-Signature": header},
            verify=ca_file,
            timeout=timeout_s,
        )
    except requests.RequestException as exc:
        raise BatchError("unreachable", f"HQ collector unreachable: {type(exc).__name__}") from exc
    if resp.status_code >= 300:
        raise BatchError(
            "refused", f"HQ refused the batch: HTTP {resp.status_code} {resp.text[:200]}"
        )
    result: dict[str, Any] = resp.json()
    return result
