"""The nightly signed batch: one business day's outcome events as JSONL plus an Ed25519 signature.

The hub writes `<branch>-<day>.jsonl` (one event envelope per line, exactly as sent live),
`<branch>-<day>.report.json` (the day report without the per-staff table: aggregates only) and
`<branch>-<day>.sig.json` (branch, day, event count, SHA-256 of the JSONL and of the report, and
the hub outcome key's signature over those fields), then uploads them as one request to HQ's
collector, which reconciles the batch against what it received live and keeps the report.
A v1 signature (no report) is still accepted. Layout: docs/hq-interface.md, "Nightly batch".
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
    "MAX_REPORT",
    "BatchError",
    "BatchFiles",
    "read_batch",
    "read_report",
    "report_bytes",
    "signed_fields",
    "upload_batch",
    "verify_batch",
    "verify_report",
    "write_batch",
]

CONTEXT = b"branch-edge/v1 batch\x00"
CONTEXT_V2 = b"branch-edge/v2 batch\x00"
MAX_BATCH = 256 * 1024 * 1024
MAX_REPORT = 1024 * 1024


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
    report: Path | None = None
    report_sha256: str | None = None


def signed_fields(doc: dict[str, Any]) -> bytes:
    """The exact bytes the signature covers (v2 adds `report_sha256`, under its own context)."""
    names = ["branch_id", "business_day", "events", "sha256"]
    context = CONTEXT
    if doc.get("v") == 2:
        names.append("report_sha256")
        context = CONTEXT_V2
    fields = {k: doc[k] for k in names}
    return context + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def report_bytes(report: dict[str, Any]) -> bytes:
    """A day report's file bytes (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode() + b"\n"


def read_report(data: bytes, branch_id: str, day: str) -> dict[str, Any]:
    """Parse the report file of `branch_id`'s `day`; raise BatchError if it is not one."""
    if len(data) > MAX_REPORT:
        raise BatchError("too_large", f"a day report is at most {MAX_REPORT // 1024} KiB")
    try:
        report = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise BatchError("malformed", "the day report is not JSON") from exc
    if not isinstance(report, dict):
        raise BatchError("malformed", "the day report is not a JSON object")
    if report.get("branch_id") != branch_id or report.get("period") != "day":
        raise BatchError("malformed", "the report is not a day report of this branch")
    if report.get("first_day") != day or report.get("last_day") != day:
        raise BatchError("malformed", "the report is not of the batch's business day")
    if "staff" in report:
        raise BatchError("malformed", "the report carries the per-staff table")
    return report


def write_batch(
    envelopes: Iterable[dict[str, Any]],
    branch_id: str,
    day: str,
    key: Ed25519PrivateKey,
    out_dir: Path,
    report: dict[str, Any] | None = None,
) -> BatchFiles:
    """Write and sign one business day's batch (and its day report) into out_dir, atomically."""
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
    report_file, report_sha = _write_report(report, out_dir / f"{branch_id}-{day}.report.json")
    doc: dict[str, Any] = {
        "v": 2,
        "alg": "Ed25519",
        "branch_id": branch_id,
        "business_day": day,
        "events": count,
        "sha256": digest.hexdigest(),
        "report_sha256": report_sha,
    }
    doc["signature"] = base64.b64encode(key.sign(signed_fields(doc))).decode("ascii")
    sig.write_text(json.dumps(doc, indent=1) + "\n")
    return BatchFiles(jsonl, sig, count, doc["sha256"], report_file, report_sha)


def _write_report(report: dict[str, Any] | None, path: Path) -> tuple[Path | None, str | None]:
    """Write the day report's file (or remove a stale one); its path and SHA-256."""
    if report is None:
        path.unlink(missing_ok=True)
        return None, None
    data = report_bytes(report)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path, hashlib.sha256(data).hexdigest()


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


def verify_report(report: bytes | None, doc: dict[str, Any]) -> dict[str, Any] | None:
    """Check a verified batch's day report against its signed SHA-256; return it parsed or None."""
    signed = doc.get("report_sha256") if doc.get("v") == 2 else None
    if signed is None:
        if report is not None:
            raise BatchError("tampered", "the batch carries a report its signature does not cover")
        return None
    if report is None:
        raise BatchError("malformed", "the batch's signed day report is missing")
    if len(report) > MAX_REPORT:
        raise BatchError("too_large", f"a day report is at most {MAX_REPORT // 1024} KiB")
    if hashlib.sha256(report).hexdigest() != signed:
        raise BatchError("tampered", "the day report does not match its signed SHA-256")
    return read_report(report, str(doc["branch_id"]), str(doc["business_day"]))


Files = BatchFiles | tuple[Path, Path] | tuple[Path, Path, Path]


def read_batch(files: Files) -> tuple[bytes, dict[str, Any]]:
    """Read a batch's JSONL and signature document."""
    jsonl, sig = (files.jsonl, files.signature) if isinstance(files, BatchFiles) else files[:2]
    try:
        return jsonl.read_bytes(), json.loads(sig.read_text())
    except (OSError, ValueError) as exc:
        raise BatchError("malformed", f"cannot read batch {jsonl.name}: {exc}") from exc


def _read_report_file(files: Files) -> tuple[str, bytes] | None:
    paths = (files.jsonl, files.signature, files.report) if isinstance(files, BatchFiles) else files
    path = tuple(paths)[2] if len(paths) > 2 else None
    if path is None:
        return None
    try:
        return path.name, path.read_bytes()
    except OSError as exc:
        raise BatchError("malformed", f"cannot read report {path.name}: {exc}") from exc


def upload_batch(
    files: Files, collector_url: str, ca_file: str, timeout_s: float = 60
) -> dict[str, Any]:
    """POST a batch and its day report (one multipart body, HQ's CA pinned); return HQ's answer."""
    body, doc = read_batch(files)
    report = _read_report_file(files)
    header = base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()
    sending: dict[str, Any] = {"data": body}
    headers = {"Content-Type": "application/x-ndjson", "Batch-Signature": header}
    if report is not None:
        jsonl_name = files.jsonl.name if isinstance(files, BatchFiles) else files[0].name
        sending = {
            "files": {
                "events": (jsonl_name, body, "application/x-ndjson"),
                "report": (report[0], report[1], "application/json"),
            }
        }
        headers = {"Batch-Signature": header}  # requests sets the multipart boundary
    try:
        resp = requests.post(
            f"{collector_url.rstrip('/')}/v1/batches",
            headers=headers,
            verify=ca_file,
            timeout=timeout_s,
            **sending,
        )
    except requests.RequestException as exc:
        raise BatchError("unreachable", f"HQ collector unreachable: {type(exc).__name__}") from exc
    if resp.status_code >= 300:
        raise BatchError(
            "refused", f"HQ refused the batch: HTTP {resp.status_code} {resp.text[:200]}"
        )
    result: dict[str, Any] = resp.json()
    return result
