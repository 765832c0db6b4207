"""The running kiosk updates itself from the hub's channel and rolls back a release that crashes.

The real kiosk (`branch-kiosk` with no arguments, from its enrolled folder, this checkout as the
base install) runs on a private Xvfb against the production hub on loopback; releases are this
checkout's packages as signed bundles, published with `branch-provision channel`. The test plays
systemd's Restart=on-failure: a kiosk that exits with an error is started again. No card reader.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from branch_hub.pki import ca_fingerprint
from branch_hub.provision.cli import main as provision
from kiosk.enrolment import KioskFolder
from sync.keys import write_key_pair
from tests.support.hub_thread import ThreadedHub
from tests.support.kivy_harness import start_xvfb
from tests.support.tlsenv import make_tls_env
from tests.support.wheels import project_wheel

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGES = ("branch_common", "branch_hub", "kiosk")
# A release whose kiosk imports fine (it passes the health check) but fails once it starts.
CRASH = "\n\ndef _crash(self):\n    raise RuntimeError('this release fails at start')\n\n\nKioskApp.build = _crash\n"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHub]:
    root = tmp_path_factory.mktemp("hub")
    served = ThreadedHub(root / "data", make_tls_env(root / "pki")).start()
    yield served
    served.close()


class Kiosk:
    """The kiosk process, restarted like systemd's Restart=on-failure (bounded)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.starts = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.starts += 1
        assert self.starts <= 8, "the kiosk kept failing"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "branch-kiosk"), "--windowed", "--size", "800x600"],
                env=self.env,
                cwd=self.log.parent,  # as systemd starts it: not from the checkout
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def wait_for(self, text: str, after: int, timeout_s: float = 90) -> int:
        """Wait until `text` is logged past offset `after`; restart a crashed kiosk meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.text().find(text, after)
            if found >= 0:
                return found + len(text)
            assert self.proc is not None
            code = self.proc.poll()
            if code is not None:
                assert code != 0, "the kiosk stopped without an error"
                time.sleep(0.5)  # RestartSec
                self.start()
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in the kiosk's log:\n{self.text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _channel(hub: ThreadedHub, *args: str) -> None:
    assert provision(["channel", args[0], "--dir", str(hub.data), *args[1:]]) == 0


def _publish(hub: ThreadedHub, tmp: Path, key: Path, version: str, crash: bool = False) -> None:
    append = {"kiosk/app.py": CRASH} if crash else None
    wheels = tmp / f"wheels-{version}"
    project_wheel(wheels, version, PACKAGES, append=append)
    out = tmp / "releases"
    assert provision(["release", "--app", "kiosk", "--version", version, "--signing-key",
                      str(key), "--out", str(out), "--wheels", str(wheels)]) == 0  # fmt: skip
    _channel(hub, "publish", str(out / f"kiosk-{version}"), "--channel", "stable")


def _reports(hub: ThreadedHub, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    capsys.readouterr()
    _channel(hub, "reports")
    reports: list[dict[str, str]] = json.loads(capsys.readouterr().out)
    return reports


@pytest.mark.slow
@pytest.mark.display
def test_the_running_kiosk_updates_itself_and_rolls_back_a_crashing_release(
    hub: ThreadedHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert hub.hub is not None
    home = tmp_path / "var"
    code = hub.hub.security.codes.create("K1", "kiosk")
    from branch_hub.provision.enroll import enrolment_uri

    KioskFolder.under(home).enrol(enrolment_uri(hub.url, ca_fingerprint(hub.tls.ca.cert),
                                                code, "K1", "kiosk"))  # fmt: skip
    key, pub = tmp_path / "release.key", tmp_path / "release.pub"
    write_key_pair("hq", key, pub)
    _channel(hub, "trust", "--release-pubkey", str(pub))
    monkeypatch.delenv("DISPLAY", raising=False)
    xvfb = start_xvfb("1024x768x24")
    env = {
        **os.environ,
        "BRANCH_KIOSK_HOME": str(home),
        "BRANCH_KIOSK_RELEASE_KEY": str(pub),
        "BRANCH_UPDATE_CHECK_S": "1",
        "PYTHONPATH": str(REPO),  # this checkout is the base install
        "KIVY_NO_ARGS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    kiosk = Kiosk(env, tmp_path / "kiosk.log")
    kiosk.start()
    try:
        at = kiosk.wait_for("kiosk running version 0.1.0 (base install)", 0)
        at = kiosk.wait_for("kiosk screen: attract", at)

        # A newer release: installed in the background, the kiosk restarts into it on attract.
        _publish(hub, tmp_path, key, "0.2.0")
        at = kiosk.wait_for("kiosk running version 0.2.0", at)
        at = kiosk.wait_for("kiosk screen: attract", at)
        assert kiosk.starts == 1, "the kiosk restarted itself (exec), it never exited"
        assert (home / "app" / "current").resolve().name == "0.2.0"
        installed = [r for r in _reports(hub, capsys) if r["event"] == "installed"]
        assert [(r["app"], r["version"], r["device_id"]) for r in installed] == [
            ("kiosk", "0.2.0", "K1")
        ]

        # A release that fails right after start: installed, fails, rolled back on a next start.
        _publish(hub, tmp_path, key, "0.3.0", crash=True)
        at = kiosk.wait_for("kiosk running version 0.3.0", at)
        at = kiosk.wait_for("kiosk running version 0.2.0", at)
        at = kiosk.wait_for("kiosk screen: attract", at)
        assert kiosk.starts > 1, "the failing release ended the process; it was started again"
        assert "this release fails at start" in kiosk.text()
        assert (home / "app" / "current").resolve().name == "0.2.0"
        rolled = [r for r in _reports(hub, capsys) if r["event"] == "rolled_back"]
        assert [(r["version"], r["reason"]) for r in rolled] == [("0.3.0", "crashed_after_start")]
        # The rolled-back release is not installed again while it stays on the channel.
        at = kiosk.wait_for("app update: skipped 0.3.0 previously_rolled_back", at)
        assert kiosk.text().count("kiosk running version 0.3.0") == kiosk.starts - 1
    finally:
        kiosk.stop()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
