"""branch-kiosk start-up checks and the CJK font lookup (no window needed)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import branch_hub.client.fonts as fonts
from branch_hub.client.fonts import FontMissing, find_cjk_font
from tests.support.tlsenv import make_tls_env


def test_missing_tls_file_is_a_clear_error(script: Callable[[str], str], tmp_path: Path) -> None:
    tls = make_tls_env(tmp_path / "pki")
    cert, _key = tls.client("K1", "kiosk")
    done = subprocess.run(
        [
            script("branch-kiosk"),
            "--hub",
            "https://127.0.0.1:1",
            "--cert",
            str(cert),
            "--key",
            str(tmp_path / "missing.key"),
            "--ca",
            str(tls.ca_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1  # a failure, not a wrong command line
    assert "client key file not found" in done.stderr


def test_missing_font_is_a_clear_error(script: Callable[[str], str], tmp_path: Path) -> None:
    done = subprocess.run(
        [
            script("branch-kiosk"),
            "--hub",
            "https://127.0.0.1:1",
            "--cert",
            "c",
            "--key",
            "k",
            "--ca",
            "a",
            "--font",
            str(tmp_path / "none.ttc"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1
    assert "font file not found" in done.stderr


def test_font_lookup_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    font = tmp_path / "wqy-microhei.ttc"
    font.write_bytes(b"x")
    assert find_cjk_font(font) == font
    monkeypatch.setenv("KIOSK_FONT", str(font))
    assert find_cjk_font() == font
    monkeypatch.delenv("KIOSK_FONT")
    monkeypatch.setattr(fonts, "CANDIDATES", (str(tmp_path / "gone.ttc"), str(font)))
    assert find_cjk_font() == font
    monkeypatch.setattr(fonts, "CANDIDATES", ())
    monkeypatch.setattr("branch_hub.client.fonts.shutil.which", lambda _name: None)
    with pytest.raises(FontMissing, match="fonts-wqy-microhei or fonts-noto-cjk"):
        find_cjk_font()


def test_installed_font_is_found() -> None:
    assert find_cjk_font().is_file()


def test_explicit_files_go_together(script: Callable[[str], str], tmp_path: Path) -> None:
    done = subprocess.run(
        [script("branch-kiosk"), "--hub", "https://127.0.0.1:1", "--cert", "c"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "missing --key, --ca" in done.stderr
