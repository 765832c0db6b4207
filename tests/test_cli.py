"""Every console script is installed and answers --help."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest


@pytest.mark.parametrize(
    "name", ["branch-hub", "branch-kiosk", "branch-tablet", "branch-sync", "branch-provision"]
)
def test_help(script: Callable[[str], str], name: str) -> None:
    done = subprocess.run([script(name), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert f"usage: {name}" in done.stdout


def test_packaging_folder_does_not_shadow_packaging_library() -> None:
    import packaging.version

    assert packaging.version.Version("1.0") < packaging.version.Version("1.1")


def test_demo_runs(tmp_path: object) -> None:
    from pathlib import Path

    from branch_hub.demo import main

    out = Path(str(tmp_path)) / "demo"
    assert main(["--summary", "--customers", "2000", "--out", str(out)]) == 0
    assert (out / "export.jsonl").stat().st_size > 0
