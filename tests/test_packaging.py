"""Packaging for branch IT: systemd units verify and are hardened; logrotate, buildozer, scripts."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parent.parent / "packaging"
UNITS = sorted((PACKAGING / "systemd").glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
    "ProtectKernelModules": "yes",
}


def _directives(unit: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_units_are_hardened(unit: Path) -> None:
    d = _directives(unit)
    for key, value in HARDENING.items():
        assert value in d.get(key, []), f"{unit.name}: {key}={value} missing"
    assert d["User"][0].startswith("branch-"), "a dedicated user, never root"
    if unit.name in ("branch-hub.service", "branch-kiosk.service"):
        assert d["Restart"] == ["on-failure"]
        assert d["ReadWritePaths"], "the data dir must be writable under ProtectSystem=strict"
        assert d["DevicePolicy"] == ["closed"]
    if unit.name == "branch-kiosk.service":  # the camera, opened by zbarcam as the kiosk's user
        assert "char-video4linux rw" in d["DeviceAllow"]
        assert "video" in d["SupplementaryGroups"][0].split()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # The units name /opt/branch-edge/venv/bin/...; point them at this interpreter to verify.
    for unit in [*UNITS, *(PACKAGING / "systemd").glob("*.timer")]:
        text = unit.read_text().replace("/opt/branch-edge/venv/bin/branch-hub", sys.executable)
        text = text.replace("/opt/branch-edge/venv/bin/python", sys.executable)
        text = text.replace("/opt/branch-edge/venv/bin/branch-kiosk", sys.executable)
        text = text.replace("/usr/lib/xorg/Xorg", sys.executable)
        (tmp_path / unit.name).write_text(text)
    out = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == ""


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="no logrotate")
def test_logrotate_config_parses(tmp_path: Path) -> None:
    out = subprocess.run(
        ["logrotate", "--debug", "--state", str(tmp_path / "state"),
         str(PACKAGING / "logrotate" / "branch-edge")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "error" not in out.stderr.lower()


def test_buildozer_spec() -> None:
    spec = configparser.ConfigParser(interpolation=None)
    spec.read(PACKAGING / "tablet" / "buildozer.spec")
    app = spec["app"]
    assert app["package.name"] == "branchedgetablet"
    assert "kivy" in app["requirements"]
    assert app["android.allow_backup"] == "False"
    assert "INTERNET" in app["android.permissions"]
    assert "CAMERA" in app["android.permissions"]  # the enrolment QR is scanned


@pytest.mark.parametrize(
    "script",
    sorted([*(PACKAGING / "scripts").glob("*.sh"), *(PACKAGING / "deb").glob("*.sh")]),
    ids=lambda p: p.name,
)
def test_scripts_parse(script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(script)], check=False, timeout=30).returncode == 0
    assert script.stat().st_mode & 0o111, "scripts are executable"
