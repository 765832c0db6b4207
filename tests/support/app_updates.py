"""Release bundles of this checkout and a supervised app process for the app-update tests."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from branch_hub.provision.cli import main as provision
from tests.support.hub_thread import ThreadedHub
from tests.support.wheels import project_wheel

__all__ = ["Supervised", "channel", "publish", "reports"]


class Supervised:
    """An app process, restarted like systemd's Restart=on-failure (bounded)."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.command, self.env, self.log = command, env, log
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.starts += 1
        assert self.starts <= 8, "the app kept failing"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.log.parent,  # as systemd starts it: not from the checkout
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def wait_for(self, text: str, after: int, timeout_s: float = 90) -> int:
        """Wait until `text` is logged past offset `after`; restart a crashed app meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.text().find(text, after)
            if found >= 0:
                return found + len(text)
            assert self.proc is not None
            code = self.proc.poll()
            if code is not None:
                assert code != 0, "the app stopped without an error"
                time.sleep(0.5)  # RestartSec
                self.start()
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in the app's log:\n{self.text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def channel(hub: ThreadedHub, *args: str) -> None:
    """Run `branch-provision channel ACTION --dir HUB_DATA ...`."""
    assert provision(["channel", args[0], "--dir", str(hub.data), *args[1:]]) == 0


def publish(
    hub: ThreadedHub,
    tmp: Path,
    key: Path,
    app: str,
    version: str,
    packages: tuple[str, ...],
    append: dict[str, str] | None = None,
) -> None:
    """Build a signed release of this checkout's `packages` and publish it on stable."""
    wheels = tmp / f"wheels-{app}-{version}"
    project_wheel(wheels, version, packages, append=append)
    out = tmp / "releases"
    assert provision(["release", "--app", app, "--version", version, "--signing-key",
                      str(key), "--out", str(out), "--wheels", str(wheels)]) == 0  # fmt: skip
    channel(hub, "publish", str(out / f"{app}-{version}"), "--channel", "stable")


def reports(hub: ThreadedHub, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    """What `branch-provision channel reports` prints."""
    capsys.readouterr()
    channel(hub, "reports")
    printed: list[dict[str, str]] = json.loads(capsys.readouterr().out)
    return printed
