"""The branch's day report goes to HQ inside the nightly signed batch (real TLS on loopback).

The production hub's sender uploads a finished day's batch with its report; HQ's reference
collector serves it back (HTTP and CLI) equal to the hub's day report without the staff table,
naming nobody. A tampered, unsigned, oversized or malformed report is refused with a typed
reason while the collector keeps running; a v1 batch (an older hub, no report) is still taken.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from branch_hub.atrest import AtRestCipher
from branch_hub.hub import Hub
from branch_hub.outbox import Outbox, OutboxSender, load_or_create_signing_key
from branch_hub.reports import period_of
from sync.batch import MAX_REPORT, BatchError, read_report, signed_fields, upload_batch, write_batch
from tests.outbox_support import Hq, running
from tests.support.hubkit import open_hub
from tests.support.lobbyenv import branch_config
from tests.support.tlsenv import make_tls_env

CUSTOMERS = ("C0000042", "C0000043")
STAFF = ("S-WEALTH", "S-ACCOUNT")
PAN = "6222020000000000004"


def _yesterday() -> str:
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)).isoformat()


def _hub(tmp: Path, hq: Hq) -> Hub:
    """The production hub with `[hq] collector_url` on the test collector."""
    config = branch_config()
    update = {"collector_url": hq.url, "ca_file": str(hq.ca)}
    config = config.model_copy(update={"hq": config.hq.model_copy(update=update)})
    return open_hub(config, tmp / "hub", make_tls_env(tmp / "pki"))


def _a_day_of_work(hub: Hub, day: str) -> None:
    """Lead outcomes and a claim for HQ, product views, all on `day`."""
    at = f"{day}T10:00:00+08:00"
    for n, (customer, staff) in enumerate(zip(CUSTOMERS, STAFF, strict=True)):
        outcome = {"customer_id": customer, "lead_id": f"L{n}", "staff_id": staff, "at": at}
        hub.outbox.enqueue("lead_outcome", outcome | {"outcome": "accepted"}, f"lo-{n}")
        claim = {"customer_id": customer, "staff_id": staff, "at": at}
        hub.outbox.enqueue("claim", claim, f"cl-{n}")
    with hub.db.transaction() as db:
        for n, staff in enumerate(STAFF):
            db.execute(
                "INSERT INTO product_views VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (f"v{n}", day, at, staff, "WM2026A0001", "presented"),
            )


def _get(hq: Hq, path: str, **params: str) -> requests.Response:
    return requests.get(f"{hq.url}{path}", params=params, verify=str(hq.ca), timeout=10)


def _without_moving_parts(report: dict[str, Any]) -> dict[str, Any]:
    """The report less what changes between two builds (its time, the HQ link's progress)."""
    return {k: v for k, v in report.items() if k not in ("generated_at", "hq_link", "staff")}


def test_the_day_report_goes_up_with_the_batch(
    tmp_path: Path, collector_database: str | None
) -> None:
    hq = Hq(tmp_path, {"BJ-CY-0105": tmp_path / "hub" / "outcome_signing.pub"}, collector_database)
    hub = _hub(tmp_path, hq)
    day = _yesterday()
    _a_day_of_work(hub, day)
    assert hub.sender is not None
    assert hub.sender.day_report is not None  # build_hub wired the report desk in
    with running(hq):
        assert hub.sender.send_due() == 4
        assert hub.sender.upload_batches() == [day]
        served = _get(hq, "/v1/reports", branch="BJ-CY-0105", day=day)
        assert served.status_code == 200
        report = served.json()
        kept = hub.data_dir / "batches" / f"BJ-CY-0105-{day}.report.json"
        assert json.loads(kept.read_bytes()) == report  # the signed file, as HQ keeps it
        full = hub.reports.build(period_of("day", day, hub.reports.today()), with_staff=True)
        assert {line["staff_id"] for line in full["staff"]} == set(STAFF)
        assert "staff" not in report
        assert _without_moving_parts(report) == _without_moving_parts(full)
        assert report["leads"]["total"]["accepted"] == 2
        text = json.dumps(report, ensure_ascii=False)
        for secret in (*CUSTOMERS, *STAFF, PAN, "customer_id", '"name"', '"pan"'):
            assert secret not in text
        assert _get(hq, "/v1/reports", branch="BJ-CY-0105", day="2020-01-01").status_code == 404
        bad = _get(hq, "/v1/reports", branch="BJ-CY-0105", day="yesterday")
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_day")
        # HQ's CLI prints the same report; none held is exit 1 with a sentence.
        cli = [sys.executable, "-m", "sync.cli", "report", *hq.store_args, "--branch"]
        shown = subprocess.run([*cli, "BJ-CY-0105", "--day", day], capture_output=True, check=True)
        assert json.loads(shown.stdout) == report
        none = subprocess.run([*cli, "B404", "--day", day], capture_output=True, text=True)
        assert none.returncode != 0
        assert "no report" in none.stderr
        _same_and_other_uploads(hub, hq, day, report)
    hub.audit.flush()
    sent = [e for e in hub.audit.entries() if e.action == "report_sent"]
    assert [e.detail["business_day"] for e in sent] == [day]
    asyncio.run(hub.close())


def _same_and_other_uploads(hub: Hub, hq: Hq, day: str, report: dict[str, Any]) -> None:
    """The same batch again is taken once more; another report of the same events is a 409."""
    assert hub.sender is not None
    envelopes = [i.envelope("BJ-CY-0105") for i in hub.outbox.for_day(day)]
    key, out = hub.sender.key, hub.data_dir / "again"
    again = write_batch(envelopes, "BJ-CY-0105", day, key, out, report)
    assert upload_batch(again, hq.url, str(hq.ca))["ok"] is True
    other = write_batch(envelopes, "BJ-CY-0105", day, key, out, report | {"no_shows": 99})
    with pytest.raises(BatchError, match=r"409.*report_conflict"):
        upload_batch(other, hq.url, str(hq.ca))
    assert _get(hq, "/v1/reports", branch="BJ-CY-0105", day=day).json() == report


DAY = "2026-03-02"


def _envelopes(n: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "v": 1,
            "idempotency_key": f"k{i}",
            "branch_id": "B001",
            "kind": "claim",
            "at": f"{DAY}T02:00:00+00:00",
            "business_day": DAY,
            "payload": {"customer_id": "C1", "staff_id": "S1"},
        }
        for i in range(n)
    ]


def _report(**extra: Any) -> dict[str, Any]:
    days = {"first_day": DAY, "last_day": DAY, "business_days": [DAY]}
    return {"branch_id": "B001", "period": "day", **days, "no_shows": 1, **extra}


def _refused(files: Any, hq: Hq, status: int, reason: str) -> None:
    with pytest.raises(BatchError, match=rf"HTTP {status}.*{reason}"):
        upload_batch(files, hq.url, str(hq.ca))


def test_bad_reports_are_refused_and_v1_batches_still_taken(tmp_path: Path) -> None:
    key = load_or_create_signing_key(tmp_path / "outcome_signing.key")
    hq = Hq(tmp_path, {"B001": tmp_path / "outcome_signing.pub"})
    envs = _envelopes()
    with running(hq):
        tampered = write_batch(envs, "B001", DAY, key, tmp_path / "tampered", _report())
        assert tampered.report is not None
        tampered.report.write_bytes(
            tampered.report.read_bytes().replace(b'"no_shows":1', b'"no_shows":0')
        )
        _refused(tampered, hq, 422, "tampered")
        # A report the signature does not cover (a v2 batch written without one).
        bare = write_batch(envs, "B001", DAY, key, tmp_path / "bare")
        _refused((bare.jsonl, bare.signature, tampered.report), hq, 422, "tampered")
        # Signed, but not JSON / not this branch's day / carrying the staff table / too large.
        for n, bad in enumerate([b"{not json", b"[1, 2]"]):
            signed = _signed_raw(envs, key, tmp_path / f"raw{n}", bad)
            _refused(signed, hq, 422, "malformed")
        staff = write_batch(envs, "B001", DAY, key, tmp_path / "staff", _report(staff=[]))
        _refused(staff, hq, 422, "malformed")
        other_day = write_batch(
            envs, "B001", DAY, key, tmp_path / "day", _report(last_day="2026-03-03")
        )
        _refused(other_day, hq, 422, "malformed")
        big = write_batch(envs, "B001", DAY, key, tmp_path / "big", _report(pad="x" * MAX_REPORT))
        _refused(big, hq, 413, "too_large")
        assert _get(hq, "/v1/reports", branch="B001", day=DAY).status_code == 404
        # An older hub's v1 batch: no report, still taken; the collector kept running throughout.
        v1 = _v1(envs, key, tmp_path / "v1")
        assert upload_batch(v1, hq.url, str(hq.ca))["in_batch"] == 3
        assert _get(hq, "/v1/health").json()["status"] == "ok"
        assert _get(hq, "/v1/reports", branch="B001", day=DAY).status_code == 404
        good = write_batch(envs, "B001", DAY, key, tmp_path / "good", _report())
        assert upload_batch(good, hq.url, str(hq.ca))["ok"] is False  # nothing came live
        assert _get(hq, "/v1/reports", branch="B001", day=DAY).json() == _report()


def _signed_raw(envs: list[dict[str, Any]], key: Any, out: Path, raw: bytes) -> tuple[Path, ...]:
    """A v2 batch whose report file is `raw`, correctly signed."""
    import hashlib

    files = write_batch(envs, "B001", DAY, key, out, _report())
    assert files.report is not None
    files.report.write_bytes(raw)
    doc = json.loads(files.signature.read_text())
    doc["report_sha256"] = hashlib.sha256(raw).hexdigest()
    doc["signature"] = base64.b64encode(key.sign(signed_fields(doc))).decode()
    files.signature.write_text(json.dumps(doc))
    return files.jsonl, files.signature, files.report


def _v1(envs: list[dict[str, Any]], key: Any, out: Path) -> tuple[Path, Path]:
    """The batch as a hub before day reports wrote it (signature doc v1, four fields)."""
    files = write_batch(envs, "B001", DAY, key, out)
    doc = json.loads(files.signature.read_text())
    del doc["report_sha256"]
    doc["v"] = 1
    doc["signature"] = base64.b64encode(key.sign(signed_fields(doc))).decode()
    files.signature.write_text(json.dumps(doc))
    return files.jsonl, files.signature


def test_a_report_that_fails_to_build_holds_nothing_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = load_or_create_signing_key(tmp_path / "outcome_signing.key")
    hq = Hq(tmp_path, {"B001": tmp_path / "outcome_signing.pub"})
    outbox = Outbox(tmp_path / "hub.db", AtRestCipher(b"k" * 32), timezone="Asia/Shanghai")
    outbox.enqueue(
        "claim", {"customer_id": "C0000042", "staff_id": "S1", "at": f"{DAY}T02:00:00+00:00"}, "c1"
    )
    sender = OutboxSender(
        outbox, collector_url=hq.url, ca_file=str(hq.ca), branch_id="B001", signing_key=key,
        batch_dir=tmp_path / "batches",
    )  # fmt: skip

    def broken(day: str) -> dict[str, Any]:
        raise ValueError(f"customer C0000042 {PAN} broke the {day} report")

    sender.day_report = broken
    with running(hq), caplog.at_level(logging.INFO, logger="branch_hub.outbox"):
        assert sender.send_due() == 1
        assert sender.upload_batches() == [DAY]
        assert _get(hq, "/v1/reconciliation", branch="B001", day=DAY).json()["ok"] is True
        assert _get(hq, "/v1/reports", branch="B001", day=DAY).status_code == 404
    assert "not built" in caplog.text
    assert "C0000042" not in caplog.text
    assert PAN not in caplog.text
    sender.close()
    outbox.close()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_the_report_reader_refuses_only_with_its_own_error(data: bytes) -> None:
    reason, report = "ok", None
    try:
        report = read_report(data, "B001", DAY)
    except BatchError as exc:
        reason = exc.reason
    assert reason in ("ok", "malformed", "too_large")
    if report is not None:
        assert report["branch_id"] == "B001"
        assert "staff" not in report
