"""Synthetic HQ export: valid identifiers, determinism, and the shape of the distributions."""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from branch_common.identifiers import is_valid_id_number, luhn_valid
from sync.synth import BLOCK, SynthOptions, generate, write_export_file

AS_OF = date(2026, 11, 1)
N = 12_000  # more than two blocks, so block seeding is exercised


@pytest.fixture(scope="module")
def customers() -> list[dict[str, Any]]:
    return list(generate(SynthOptions(customers=N, seed=42, region_code="110105", as_of=AS_OF)))


def test_schema(customers: list[dict[str, Any]]) -> None:
    keys = {
        "customer_id",
        "name",
        "gender",
        "birth_date",
        "id_number",
        "region_code",
        "phone",
        "cards",
        "passbooks",
        "tier",
        "aum",
        "segments",
        "leads",
        "relationship_manager",
        "last_visit",
    }
    assert len(customers) == N
    for c in customers:
        assert keys <= c.keys()
        assert c["gender"] in {"M", "F"}
        assert 1 <= len(c["cards"]) <= 3
        assert 0 <= len(c["passbooks"]) <= 2
        assert 0 <= len(c["leads"]) <= 5
        assert c["phone"].isdigit()
        assert len(c["phone"]) == 11
        assert c["phone"][0] == "1"
        for lead in c["leads"]:
            assert lead["score"] in {"high", "mid", "low"}
            assert 2 <= len(lead["talking_points"]) <= 3
            assert date.fromisoformat(lead["expires"]) > AS_OF
        assert c["last_visit"] is None or date.fromisoformat(c["last_visit"]) <= AS_OF
    assert len({c["customer_id"] for c in customers}) == N


def test_every_id_number_is_valid_and_consistent(customers: list[dict[str, Any]]) -> None:
    for c in customers:
        idn = c["id_number"]
        assert is_valid_id_number(idn), idn
        assert idn[:6] == c["region_code"]
        assert idn[6:14] == c["birth_date"].replace("-", "")
        # GB 11643: the 17th digit is odd for men and even for women.
        assert int(idn[16]) % 2 == (1 if c["gender"] == "M" else 0)


def test_every_pan_is_unionpay_and_luhn_valid(customers: list[dict[str, Any]]) -> None:
    for c in customers:
        for card in c["cards"]:
            pan = card["pan"]
            assert pan.startswith("62")
            assert 16 <= len(pan) <= 19
            assert luhn_valid(pan), pan
            assert card["kind"] in {"debit", "credit"}
            assert len(card["expiry"]) == 4
            assert 1 <= int(card["expiry"][2:]) <= 12


def test_tier_follows_aum(customers: list[dict[str, Any]]) -> None:
    bounds = {
        "mass": (0, 50_000),
        "basic": (50_000, 500_000),
        "wealth": (500_000, 6_000_000),
        "private": (6_000_000, float("inf")),
    }
    for c in customers:
        low, high = bounds[c["tier"]]
        assert low <= c["aum"] < high


def test_distribution_shapes(customers: list[dict[str, Any]]) -> None:
    tiers = Counter(c["tier"] for c in customers)
    share = {k: v / N for k, v in tiers.items()}
    # A pyramid: most customers are mass, a thin wealthy top.
    assert 0.55 < share["mass"] < 0.80
    assert 0.15 < share["basic"] < 0.35
    assert 0.02 < share["wealth"] < 0.10
    assert 0.0005 < share.get("private", 0) < 0.01
    aums = sorted(c["aum"] for c in customers)
    assert statistics.mean(aums) > 3 * statistics.median(aums)  # right-skewed
    men = sum(c["gender"] == "M" for c in customers) / N
    assert 0.47 < men < 0.53
    other_province = sum(c["region_code"][:2] != "11" for c in customers) / N
    assert 0.20 < other_province < 0.36
    ages = [(AS_OF - date.fromisoformat(c["birth_date"])).days / 365.25 for c in customers]
    assert min(ages) >= 18
    assert max(ages) < 89
    assert 35 < statistics.median(ages) < 55
    # Richer tiers carry more leads on average.
    mean_leads = {
        t: statistics.mean(len(c["leads"]) for c in customers if c["tier"] == t)
        for t in ("mass", "wealth")
    }
    assert mean_leads["wealth"] > mean_leads["mass"]
    assert 0.02 < sum(c["last_visit"] is None for c in customers) / N < 0.15
    names = Counter(c["name"] for c in customers)
    assert len(names) > N * 0.3  # names repeat, as in life, but not too much
    assert Counter(c["name"][0] for c in customers).most_common(1)[0][0] in "王李张"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_deterministic_by_seed_and_independent_of_workers(tmp_path: Path) -> None:
    opts = SynthOptions(customers=BLOCK * 2 + 17, seed=5, as_of=AS_OF)
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    write_export_file(opts, a, workers=1, progress=False)
    write_export_file(opts, b, workers=2, progress=False)
    write_export_file(
        SynthOptions(customers=BLOCK * 2 + 17, seed=6, as_of=AS_OF), c, workers=2, progress=False
    )
    assert _sha(a) == _sha(b)
    assert _sha(a) != _sha(c)
    lines = a.read_text(encoding="utf-8").splitlines()
    assert len(lines) == BLOCK * 2 + 17
    assert [json.loads(line)["customer_id"] for line in lines[:2]] == ["C0000000000", "C0000000001"]
    assert not list(tmp_path.glob(".synth-*")), "block files must be cleaned up"


def test_cli_synth(script: Callable[[str], str], tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    args = [
        script("branch-sync"),
        "synth",
        "--customers",
        "300",
        "--seed",
        "9",
        "--out",
        str(out),
        "--region-code",
        "440106",
        "--as-of",
        "2026-11-01",
    ]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    first = out.read_bytes()
    subprocess.run(args, capture_output=True, check=True)
    assert out.read_bytes() == first
    rows = [json.loads(line) for line in first.decode().splitlines()]
    assert len(rows) == 300
    assert sum(r["region_code"][:2] == "44" for r in rows) > 150


def test_cli_synth_tiers_from_arguments(script: Callable[[str], str], tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    tiers = ["--tier", "everyday=0", "--tier", "gold=50000", "--tier", "black=5000000"]
    args = [script("branch-sync"), "synth", "--customers", "400", "--out", str(out), *tiers]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for r in rows:
        want = "black" if r["aum"] >= 5_000_000 else "gold" if r["aum"] >= 50_000 else "everyday"
        assert r["tier"] == want
    assert {r["tier"] for r in rows} >= {"everyday", "gold"}


def test_cli_synth_bad_arguments(script: Callable[[str], str], tmp_path: Path) -> None:
    for bad in (
        ["--customers", "-3"],
        ["--customers", "ten"],
        ["--region-code", "12345"],
        ["--as-of", "2026-13-01"],
        ["--tier", "gold"],
        ["--tier", "Gold=5"],
        ["--tier", "mass=0", "--tier", "gold=-1"],
        ["--tier", "mass=10", "--tier", "gold=100"],
        ["--tier", "mass=0", "--tier", "mass=100"],
    ):
        args = [
            script("branch-sync"),
            "synth",
            "--customers",
            "5",
            "--out",
            str(tmp_path / "x.jsonl"),
            *bad,
        ]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        assert done.returncode == 2
        assert "Traceback" not in done.stderr
        assert "error:" in done.stderr
