"""Every command a person runs behaves the same way: `--version`, exit codes, one-line errors.

0 done, 1 failed, 2 a wrong command line; an expected failure (a missing file, an unreachable
host) is one line on stderr, never a traceback.
"""

from __future__ import annotations

import socket
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from branch_common.cli import package_version

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"])


def _run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), capture_output=True, text=True, check=False, timeout=120, cwd=cwd
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_tells_its_version(command: str, script: Callable[[str], str]) -> None:
    done = _run(script(command), "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{command} {package_version()}"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_wrong_command_line_exits_2(command: str, script: Callable[[str], str]) -> None:
    done = _run(script(command), "--no-such-option")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_expected_failures_are_one_line_and_exit_1(
    script: Callable[[str], str], tmp_path: Path
) -> None:
    sync = script("branch-sync")
    assert _run(sync, "keygen", "--out", str(tmp_path / "keys")).returncode == 0
    keys = tmp_path / "keys"
    publish = _run(
        sync, "publish", "--export", str(tmp_path / "missing.jsonl"),
        "--branch-pubkey", str(keys / "hub_sync.pub"), "--signing-key", str(keys / "hq_signing.key"),
        "--out", str(tmp_path / "pub"), "--branch-id", "B001",
    )  # fmt: skip
    pull = _run(
        sync, "pull", "--from", f"https://127.0.0.1:{_closed_port()}/b/",
        "--cache", str(tmp_path / "cache"), "--ca-file", str(keys / "hq_signing.pub"),
        "--hub-key", str(keys / "hub_sync.key"), "--hq-pubkey", str(keys / "hq_signing.pub"),
        "--branch-id", "B001", "--retries", "0",
    )  # fmt: skip
    hub = _run(script("branch-hub"), "--config", str(tmp_path / "none.toml"), "--check")
    provision = _run(script("branch-provision"), "staff", "list", "--dir", str(tmp_path / "no"))
    for done in (publish, pull, hub, provision):
        assert done.returncode == 1, (done.args, done.stderr)
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "missing.jsonl: no such file" in publish.stderr
    assert not (tmp_path / "pub").exists()  # nothing half-made under --out
    assert "urllib3" not in pull.stderr
    assert "HTTPSConnectionPool" not in pull.stderr
