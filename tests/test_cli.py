"""Every console script is installed and answers --help."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "name", ["branch-hub", "branch-kiosk", "branch-tablet", "branch-sync", "branch-provision"]
)
def test_help(script: Callable[[str], str], name: str) -> None:
    done = subprocess.run([script(name), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert f"usage: {name}" in done.stdout


@pytest.mark.parametrize(
    ("module", "usage"),
    [
        ("branch_demo", "usage: ./run demo"),
        ("bench.branch_day", "usage: python -m bench.branch_day"),
        ("branch_hub.client.display_cli", "usage: branch-display"),
    ],
)
def test_demo_and_branch_day_modules_answer_help(module: str, usage: str) -> None:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(usage)


def test_hub_and_sync_do_not_import_the_demo() -> None:
    root = Path(__file__).resolve().parent.parent
    for package in ("branch_hub", "sync"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "branch_demo" not in text, path
            assert "from bench" not in text, path
            assert "import bench" not in text, path
    for path in (root / "sync").rglob("*.py"):
        assert "from branch_hub" not in path.read_text(encoding="utf-8"), path


def test_packaging_folder_does_not_shadow_packaging_library() -> None:
    import packaging.version

    assert packaging.version.Version("1.0") < packaging.version.Version("1.1")


def test_demo_runs(tmp_path: Path) -> None:
    from branch_demo.cli import main

    out = tmp_path / "demo"
    assert main(["--summary", "--customers", "2000", "--out", str(out)]) == 0
    assert (out / "export.jsonl").stat().st_size > 0
