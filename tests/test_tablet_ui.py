"""Tablet UI under Xvfb against a real hub, then a search of everything the app left on disk.

The scenarios (tests/tablet_ui_*.py; the rig and fixtures live in tests/tablet_ui_scenarios.py) run in a child process with their own temp dir and
Kivy home; after that process has exited, no customer name, ID number or PAN may be found in the
apps' data folders, the temp dir or the Kivy home, in UTF-8, UTF-16 or GB18030.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sync.synth import SynthOptions, generate
from tests.support.pii_scan import card_needles

REPO = Path(__file__).resolve().parents[1]
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "gb18030")


def _needles(customers: int = 60) -> set[bytes]:
    # The same synthetic customers the child's hub was built from (seed 8, as of today).
    needles: set[bytes] = set()
    for c in generate(SynthOptions(customers=customers, seed=8, as_of=date.today())):
        values = [c["name"], c["id_number"]] + [card["pan"] for card in c["cards"]]
        values += [b["account"] for b in c["passbooks"]]
        values += card_needles([c])
        for value in values:
            for encoding in ENCODINGS:
                needles.add(str(value).encode(encoding))
    return needles


def _files(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def _search(files: list[Path], needles: set[bytes], base: Path) -> list[tuple[str, bytes]]:
    """Every (file, needle) found; a content met before (the tablets' identical catalogue copies)
    is searched once."""
    found: list[tuple[str, bytes]] = []
    hits_by_digest: dict[str, list[bytes]] = {}
    for path in files:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest not in hits_by_digest:
            hits_by_digest[digest] = [n for n in needles if n in data]
        found += [(str(path.relative_to(base)), n) for n in hits_by_digest[digest]]
    return found


def test_the_search_finds_planted_customer_data(tmp_path: Path) -> None:
    customer = next(iter(generate(SynthOptions(customers=1, seed=8, as_of=date.today()))))
    (tmp_path / "a.bin").write_bytes(b"xx" + customer["name"].encode("gb18030") + b"yy")
    (tmp_path / "b.bin").write_bytes(customer["cards"][0]["pan"].encode("utf-16-le"))
    (tmp_path / "c.bin").write_bytes(customer["products"]["deposits"][0].encode())
    found = _search(_files(tmp_path), _needles(1), tmp_path)
    assert {f for f, _ in found} == {"a.bin", "b.bin", "c.bin"}


@pytest.mark.timeout(1200)  # every tablet UI scenario, in one child process
def test_tablet_ui_scenarios_then_nothing_on_disk(tmp_path: Path) -> None:
    tmp, kivy_home = tmp_path / "tmp", tmp_path / "kivy"
    tmp.mkdir()
    kivy_home.mkdir()
    env = dict(os.environ)
    env.update(
        TABLET_TEST_ROOT=str(tmp_path),
        TMPDIR=str(tmp),
        KIVY_HOME=str(kivy_home),
        KIVY_NO_ARGS="1",
    )
    env.pop("DISPLAY", None)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            # The shared rig and the first scenarios, then each area's own file.
            *sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("tablet_ui_*.py")),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
    assert "skipped" not in run.stdout
    apps = tmp_path / "apps"
    files = _files(apps, tmp, kivy_home)
    assert any(p.name == "settings.json" for p in files)
    needles = _needles()
    found = _search(files, needles, tmp_path)
    assert not found, f"customer data on disk: {found[:5]}"
    # Only device identity, pinned CA and settings in the app folders, and the verified copy of
    # HQ's product catalogue (public bank material, searched for customer data above like the rest).
    allowed = {"device.key", "device.crt", "ca.crt", "settings.json"}
    copies = [p for p in _files(apps) if p.relative_to(apps).parts[1:2] == ("catalogue",)]
    assert copies, "the tablets keep their verified catalogue copy"
    extra = [p for p in _files(apps) if p.name not in allowed and p not in copies]
    assert not extra, extra
