"""Shared fixtures: paths to the sample branch and the project's console scripts."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def sample_config_path() -> Path:
    """Path of the sample branch configuration shipped in the package."""
    return Path(str(resources.files("branch_hub") / "sample_branch.toml"))


@pytest.fixture(scope="session")
def script() -> object:
    """Return a function that gives the path of a console script in this environment."""

    def _path(name: str) -> str:
        path = BIN / name
        assert path.exists(), f"console script {name} is not installed in {BIN}"
        return str(path)

    return _path


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests only talk to loopback; never let a proxy setting send them elsewhere.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    os.environ.setdefault("KIVY_NO_ARGS", "1")


# Under `pytest -n` (./run test) the tests of one file run on one worker, so a module's fixture is
# built once; tests that share something machine-wide run on one worker together: pcscd and vpcd
# (also started by the demo and the kiosk bench), and Chromium's managed policy folder (/etc/chromium/policies/managed) that the TV tests write.
_SHARED = {"pcsc": "pcscd"}
_SHARED_FILES = dict.fromkeys(
    ("test_display_tv.py", "test_display.py", "test_kiosk_enrolment.py"), "chromium"
) | dict.fromkeys(("test_branch_day.py", "test_bench_smoke.py"), "pcscd")  # the demo, bench.kiosk
# The longest files start first, so no worker is left alone with one at the end.
_LONG_FIRST = (
    "test_tablet_ui.py",
    "test_layers.py",
    "test_deb_install.py",
    "test_branch_day.py",
    "test_sync_privacy.py",
)


def _group(item: pytest.Item) -> str:
    for marker, group in _SHARED.items():
        if item.get_closest_marker(marker):
            return group
    return _SHARED_FILES.get(item.path.name, item.path.name)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group tests for xdist's workers and start the long ones first."""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    rank = {name: n for n, name in enumerate(_LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
