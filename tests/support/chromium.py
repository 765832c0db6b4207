"""Headless Chromium screenshots of pages served on loopback."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


def chromium_path() -> str | None:
    """Return the Chromium binary, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(
    url: str, out: Path, width: int = 1920, height: int = 1080, wait_ms: int = 4000
) -> Path:
    """Load a page in headless Chromium and save a PNG screenshot."""
    binary = chromium_path()
    assert binary, "chromium is installed by ./run bootstrap"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--ignore-certificate-errors",  # the test CA is not in Chromium's store
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--virtual-time-budget={wait_ms}",
                f"--screenshot={out}",
                "--hide-scrollbars",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
    return out


def shots_dir(tmp_path: Path) -> Path:
    """Where a test writes its screenshots: a temporary folder, or docs/screenshots/ when
    BRANCH_EDGE_SCREENSHOTS=docs (the command that refreshes the documentation's pictures)."""
    import os

    if os.environ.get("BRANCH_EDGE_SCREENSHOTS") == "docs":
        out = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
    else:
        out = tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out
