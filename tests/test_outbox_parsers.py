"""Property tests: the batch, envelope and release-manifest parsers only ever raise their own errors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.appstore.bundle import Manifest, Refused, parse_version
from sync.batch import BatchError, signed_fields, verify_batch
from sync.collector import CollectorError, check_envelope

KEY = Ed25519PrivateKey.generate()
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _reason(call: Callable[[], object]) -> str:
    """Run a parser: 'ok', or the reason of its own typed error (anything else propagates)."""
    try:
        call()
    except (BatchError, Refused) as exc:
        return exc.reason
    except CollectorError as exc:
        return str(exc.status)
    return "ok"


def _signed(jsonl: bytes, events: int) -> dict[str, Any]:
    import base64

    doc: dict[str, Any] = {"branch_id": "B001", "business_day": "2026-03-02", "events": events,
                           "sha256": hashlib.sha256(jsonl).hexdigest()}  # fmt: skip
    doc["signature"] = base64.b64encode(KEY.sign(signed_fields(doc))).decode()
    return doc


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 5))
def test_signed_garbage_batches_are_refused_cleanly(jsonl: bytes, events: int) -> None:
    reason = _reason(lambda: verify_batch(jsonl, _signed(jsonl, events), KEY.public_key()))
    assert reason in {"ok", "malformed"}


@settings(max_examples=150, deadline=None)
@given(st.lists(JSONISH, max_size=4))
def test_signed_json_lines_of_any_shape(lines: list[Any]) -> None:
    jsonl = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
    reason = _reason(lambda: verify_batch(jsonl, _signed(jsonl, len(lines)), KEY.public_key()))
    assert reason in {"ok", "malformed"}


@settings(max_examples=200, deadline=None)
@given(JSONISH)
def test_envelope_check_raises_only_collector_errors(value: Any) -> None:
    assert _reason(lambda: check_envelope(value, "B001")) in {"ok", "400"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | JSONISH.map(lambda v: json.dumps(v).encode()))
def test_manifest_parser_raises_only_refused(data: bytes) -> None:
    assert _reason(lambda: Manifest.from_bytes(data)) in {"ok", "malformed"}


@given(st.text(max_size=12))
def test_versions_parse_or_refuse(text: str) -> None:
    try:
        v = parse_version(text)
    except Refused:
        return
    assert len(v) == 4
    assert parse_version(".".join(str(x) for x in v)) == v
