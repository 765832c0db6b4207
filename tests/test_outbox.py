"""The outbox: durable, sealed, projected payloads; the sender against a real HQ collector."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import sqlite3
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from branch_common.backoff import Backoff
from branch_hub.atrest import AtRestCipher
from branch_hub.outbox import (
    Outbox,
    OutboxError,
    OutboxSender,
    load_or_create_signing_key,
    sign_envelope,
)
from sync.batch import BatchError, upload_batch, write_batch
from tests.outbox_support import Hq, running

DAY = "2026-03-02"


def _outcome(i: int, **extra: object) -> dict[str, object]:
    return {
        "customer_id": "C0000042",
        "lead_id": f"L{i}",
        "outcome": "accepted",
        "staff_id": "S001",
        "at": f"{DAY}T02:00:00+00:00",
        **extra,
    }


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "hub.db", AtRestCipher(b"k" * 32), timezone="Asia/Shanghai")
    yield box
    box.close()


def test_enqueue_is_durable_sealed_and_projected(tmp_path: Path, outbox: Outbox) -> None:
    payload = _outcome(1, name="张三", id_number="11010519491231002X", note="not for HQ")
    assert outbox.enqueue("lead_outcome", payload, "k-1") is True
    assert outbox.enqueue("lead_outcome", payload, "k-1") is False  # same key: queued once
    # A second connection (another process would see the same) finds the committed row.
    other = sqlite3.connect(tmp_path / "hub.db")
    assert other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    other.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("hub.db"))
    for secret in ("C0000042", "张三", "11010519491231002X", "not for HQ", "L1"):
        assert secret.encode() not in raw
    [item] = outbox.due(time.time())
    assert item.payload == {
        "customer_id": "C0000042",
        "lead_id": "L1",
        "outcome": "accepted",
        "staff_id": "S001",
        "at": "2026-03-02T02:00:00.000+00:00",
    }
    assert item.business_day == DAY  # 10:00 in Shanghai


def test_handoff_keeps_its_note_and_day_follows_branch_timezone(outbox: Outbox) -> None:
    outbox.enqueue(
        "handoff",
        {
            "customer_id": "C1",
            "staff_id": "S1",
            "to_role": "wealth_manager",
            "note": "看基金",
            "at": "2026-03-02T17:30:00+00:00",
        },
        "h-1",
    )
    [item] = outbox.due(time.time())
    assert item.payload["note"] == "看基金"
    assert item.business_day == "2026-03-03"  # 01:30 next day in Shanghai


@pytest.mark.parametrize(
    ("kind", "payload", "words"),
    [
        ("gossip", {"staff_id": "S1"}, "unknown outbox kind"),
        (
            "lead_outcome",
            {"customer_id": "C1", "lead_id": "L1", "outcome": "maybe", "staff_id": "S1"},
            "outcome must be",
        ),
        ("lead_outcome", {"lead_id": "L1", "outcome": "accepted", "staff_id": "S1"}, "customer_id"),
        ("claim", {"customer_id": "C1"}, "staff_id"),
        ("handoff", {"customer_id": "C1", "staff_id": "S1"}, "to_staff_id or to_role"),
        ("claim", {"customer_id": "C1", "staff_id": "S1", "at": "yesterday"}, "ISO 8601"),
        (
            "claim",
            {"customer_id": "C1", "staff_id": "S1", "at": "2026-03-02T01:00:00"},
            "UTC offset",
        ),
        ("claim", {"customer_id": 7, "staff_id": "S1"}, "must be text"),
    ],
)
def test_bad_events_are_refused(
    outbox: Outbox, kind: str, payload: dict[str, object], words: str
) -> None:
    with pytest.raises(OutboxError, match=words):
        outbox.enqueue(kind, payload, "bad-1")


@given(st.integers(min_value=0, max_value=200), st.floats(0.001, 10), st.floats(10, 600))
def test_backoff_is_bounded_and_grows(failures: int, base: float, cap: float) -> None:
    b = Backoff(first=base, cap=cap, jitter=0.25, rng=random.Random(failures))
    d = b.delay(failures)
    nominal = min(cap, base * 2 ** min(failures, 64))
    assert nominal * 0.75 <= d <= min(cap, nominal * 1.25)


def _keys(tmp_path: Path) -> tuple[Ed25519PrivateKey, Path]:
    key = load_or_create_signing_key(tmp_path / "outcome_signing.key")
    return key, tmp_path / "outcome_signing.pub"


def test_sender_waits_for_hq_then_delivers_once(
    tmp_path: Path, outbox: Outbox, collector_database: str | None
) -> None:
    key, pub = _keys(tmp_path)
    hq = Hq(tmp_path, {"B001": pub}, collector_database)
    for i in range(20):
        outbox.enqueue("lead_outcome", _outcome(i), f"B001-{i}")
    sender = OutboxSender(
        outbox,
        collector_url=hq.url,
        ca_file=str(hq.ca),
        branch_id="B001",
        signing_key=key,
        backoff=Backoff(first=0.01, cap=0.05),
    )
    assert sender.send_due() == 0  # HQ down: nothing sent, the head is rescheduled
    assert outbox.stats()["pending"] == 20
    assert outbox.stats()["last_error"] == "ConnectionError"
    with running(hq):

        async def drain() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(sender.run(stop))
            for _ in range(200):
                if outbox.stats()["pending"] == 0:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await task

        asyncio.run(drain())
        assert outbox.stats()["sent"] == 20
        health = requests.get(f"{hq.url}/v1/health", verify=str(hq.ca), timeout=5).json()
        assert health["events"] == 20
        # A resend of an already delivered event is absorbed by HQ (idempotency key).
        env = next(iter(outbox.for_day(DAY))).envelope("B001")
        body = json.dumps(env).encode()
        headers = {
            "Idempotency-Key": env["idempotency_key"],
            "Branch-Id": "B001",
            "Branch-Signature": sign_envelope(key, body),
        }
        resp = requests.post(
            f"{hq.url}/v1/events", data=body, headers=headers, verify=str(hq.ca), timeout=5
        )
        assert resp.status_code == 200
        assert resp.json()["duplicate"] is True
        # Same key, other contents: a conflict, never an overwrite.
        env["payload"]["outcome"] = "declined"
        body = json.dumps(env).encode()
        headers["Branch-Signature"] = sign_envelope(key, body)
        resp = requests.post(
            f"{hq.url}/v1/events", data=body, headers=headers, verify=str(hq.ca), timeout=5
        )
        assert resp.status_code == 409
        # A forged event (signed by another key) is refused.
        headers["Branch-Signature"] = sign_envelope(Ed25519PrivateKey.generate(), body)
        resp = requests.post(
            f"{hq.url}/v1/events", data=body, headers=headers, verify=str(hq.ca), timeout=5
        )
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "bad_signature"
        health = requests.get(f"{hq.url}/v1/health", verify=str(hq.ca), timeout=5).json()
        assert health == {"status": "ok", "events": 20, "deliveries": 21, "conflicts": 1}
    sender.close()


def test_sender_pins_hq_ca(tmp_path: Path, outbox: Outbox) -> None:
    key, pub = _keys(tmp_path)
    hq = Hq(tmp_path, {"B001": pub})
    other_ca = Hq(tmp_path / "other", {}).ca  # a CA that did not issue HQ's certificate
    outbox.enqueue("claim", {"customer_id": "C1", "staff_id": "S1"}, "pin-1")
    sender = OutboxSender(
        outbox, collector_url=hq.url, ca_file=str(other_ca), branch_id="B001", signing_key=key
    )
    with running(hq):
        assert sender.send_due() == 0
    assert outbox.stats()["pending"] == 1
    assert outbox.stats()["last_error"] == "SSLError"
    sender.close()


def test_refused_batches(tmp_path: Path, collector_database: str | None) -> None:
    key, pub = _keys(tmp_path)
    hq = Hq(tmp_path, {"B001": pub}, collector_database)
    envs = [
        {
            "v": 1,
            "idempotency_key": f"k{i}",
            "branch_id": "B001",
            "kind": "claim",
            "at": f"{DAY}T02:00:00+00:00",
            "business_day": DAY,
            "payload": {"customer_id": "C1", "staff_id": "S1"},
        }
        for i in range(5)
    ]
    with running(hq):
        good = write_batch(envs, "B001", DAY, key, tmp_path / "good")
        # Tampered: one outcome edited after signing.
        bad = write_batch(envs, "B001", DAY, key, tmp_path / "tampered")
        bad.jsonl.write_bytes(bad.jsonl.read_bytes().replace(b'"C1"', b'"C2"', 1))
        with pytest.raises(BatchError, match=r"422.*tampered"):
            upload_batch(bad, hq.url, str(hq.ca))
        # Wrongly signed: a key HQ does not know for this branch.
        forged = write_batch(envs, "B001", DAY, Ed25519PrivateKey.generate(), tmp_path / "forged")
        with pytest.raises(BatchError, match=r"401.*bad_signature"):
            upload_batch(forged, hq.url, str(hq.ca))
        # Unsigned.
        doc = json.loads(good.signature.read_text())
        del doc["signature"]
        unsigned = tmp_path / "unsigned.sig.json"
        unsigned.write_text(json.dumps(doc))
        with pytest.raises(BatchError, match=r"401.*unsigned"):
            upload_batch((good.jsonl, unsigned), hq.url, str(hq.ca))
        # A valid signature whose signed count was edited no longer verifies.
        doc = json.loads(good.signature.read_text())
        doc["events"] = 4
        edited = tmp_path / "edited.sig.json"
        edited.write_text(json.dumps(doc))
        with pytest.raises(BatchError, match="bad_signature"):
            upload_batch((good.jsonl, edited), hq.url, str(hq.ca))
        # Nothing refused reached HQ; the good batch does, and its events are recovered.
        report = upload_batch(good, hq.url, str(hq.ca))
        assert report["in_batch"] == 5
        assert report["missing"] == [f"k{i}" for i in range(5)]
        resp = requests.get(
            f"{hq.url}/v1/reconciliation",
            params={"branch": "B001", "day": DAY},
            verify=str(hq.ca),
            timeout=5,
        )
        assert resp.json()["batch_received"] is True


def test_signature_header_is_base64_of_64_bytes() -> None:
    sig = sign_envelope(Ed25519PrivateKey.generate(), b"{}")
    assert len(base64.b64decode(sig)) == 64


def test_open_for_hub_follows_the_config(tmp_path: Path, sample_config_path: Path) -> None:
    from branch_hub.config import load_config
    from branch_hub.outbox import open_for_hub

    config = load_config(sample_config_path)
    box, sender = open_for_hub(config, tmp_path, AtRestCipher(b"c" * 32))
    assert sender is None  # no collector configured: outcomes wait in the outbox
    box.close()
    hq = Hq(tmp_path, {})
    config = config.model_copy(
        update={"hq": config.hq.model_copy(update={"collector_url": hq.url, "ca_file": str(hq.ca)})}
    )
    box, sender = open_for_hub(config, tmp_path, AtRestCipher(b"c" * 32))
    assert sender is not None
    assert (tmp_path / "outcome_signing.pub").exists()
    assert (tmp_path / "outcome_signing.key").stat().st_mode & 0o777 == 0o600
    sender.close()
    box.close()
