"""Shared fixtures: paths to the sample branch and the project's console scripts."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import pytest

from tests.support.bytecode import compile_checkout
from tests.support.pgserver import collector_database, pg_server, pg_url  # noqa: F401 (fixtures)

BIN = Path(sys.executable).parent

compile_checkout()


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
