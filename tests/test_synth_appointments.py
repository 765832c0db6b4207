"""`branch-sync synth --appointments-on`: a share of customers booked on the day with QR codes;
the export holds only each code's SHA-256, the plain codes a 0600 file beside it (HQ's SMS side),
and the export still publishes."""

from __future__ import annotations

import csv
import stat
from datetime import date
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from sync.cli import main
from sync.export_appointments import code_digest, code_token
from sync.publisher import publish
from sync.synth_appointments import booking_day

DAY = "2026-12-03"


def test_synth_books_a_share_with_codes_kept_apart(tmp_path: Path) -> None:
    export = tmp_path / "today.jsonl"
    args = ["synth", "--customers", "400", "--seed", "3", "--out", str(export), "--workers", "1"]
    assert main([*args, "--appointments-on", DAY, "--appointment-share", "0.1"]) == 0
    codes = tmp_path / "today.appointment-codes.csv"
    assert stat.S_IMODE(codes.stat().st_mode) == 0o600
    rows = list(csv.DictReader(codes.open(encoding="utf-8")))
    assert 20 <= len(rows) <= 60
    customers = {c["customer_id"]: c for c in map(orjson.loads, export.read_bytes().splitlines())}
    booked = [c for c in customers.values() if c.get("appointments")]
    assert len(booked) == len(rows)
    for row in rows:
        token = code_token(row["qr_text"])
        assert token is not None
        assert len(token) >= 22  # 128 bits at least
        item = customers[row["customer_id"]]["appointments"][0]
        assert item["code_digest"] == code_digest(token)
        assert item["window_start"].startswith(DAY)
        assert "09:00" <= item["window_start"][11:] <= "16:30"
        assert item["service"] in {"wealth", "loan", "account"}
        assert token.encode() not in export.read_bytes(), "never the plain code in the export"
    hq, hub = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    publish(export, hub.public_key(), hq, tmp_path / "pub", "BJ-CY-0105", workers=1, progress=False)
    again = tmp_path / "again.jsonl"
    args[-3] = str(again)
    assert main([*args, "--appointments-on", DAY, "--appointment-share", "0.1"]) == 0
    assert again.read_bytes() == export.read_bytes(), "deterministic for the seed"


def test_without_the_option_the_export_is_unchanged(tmp_path: Path) -> None:
    plain, booked = tmp_path / "plain.jsonl", tmp_path / "booked.jsonl"
    base = ["synth", "--customers", "50", "--workers", "1", "--out"]
    assert main([*base, str(plain)]) == 0
    assert main([*base, str(booked), "--appointments-on", DAY]) == 0
    assert not (tmp_path / "plain.appointment-codes.csv").exists()
    for a, b in zip(plain.read_bytes().splitlines(), booked.read_bytes().splitlines(), strict=True):
        left, right = orjson.loads(a), orjson.loads(b)
        right.pop("appointments", None)
        assert left == right, "booking draws come from their own generator"


def test_the_day_defaults_to_today_in_the_branch_zone() -> None:
    assert booking_day(DAY, "Asia/Shanghai") == date(2026, 12, 3)
    assert isinstance(booking_day("today", "Asia/Shanghai"), date)
    with pytest.raises(ValueError, match="time zone"):
        booking_day("today", "Mars/Olympus")
    assert code_token("branchedge://appointment?t=short") is None
    assert code_token("https://example.com/?t=" + "A" * 22) is None
