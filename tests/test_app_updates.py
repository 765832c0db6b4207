"""The running apps update themselves from the hub's channel; a release that crashes is rolled back.

The real kiosk (`branch-kiosk` with no arguments, from its enrolled folder) and the real tablet
(`branch-tablet`), this checkout as their base install, run on a private Xvfb against the
production hub on loopback; releases are this checkout's packages as signed bundles, published
with `branch-provision channel`. The kiosk test plays systemd's Restart=on-failure: a kiosk that
exits with an error is started again. No card reader.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from branch_hub.pki import ca_fingerprint
from kiosk.enrolment import KioskFolder
from sync.keys import write_key_pair
from tests.support.app_updates import Supervised, channel, publish, reports
from tests.support.hub_thread import ThreadedHub
from tests.support.kivy_harness import start_xvfb
from tests.support.tlsenv import make_tls_env

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
    channel(hub, "trust", "--release-pubkey", str(pub))
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
    command = [str(BIN / "branch-kiosk"), "--windowed", "--size", "800x600"]
    kiosk = Supervised(command, env, tmp_path / "kiosk.log")
    kiosk.start()
    try:
        at = kiosk.wait_for("kiosk running version 0.1.0 (base install)", 0)
        at = kiosk.wait_for("kiosk screen: attract", at)

        # A newer release: installed in the background, the kiosk restarts into it on attract.
        publish(hub, tmp_path, key, "kiosk", "0.2.0", PACKAGES)
        at = kiosk.wait_for("kiosk running version 0.2.0", at)
        at = kiosk.wait_for("kiosk screen: attract", at)
        assert kiosk.starts == 1, "the kiosk restarted itself (exec), it never exited"
        assert (home / "app" / "current").resolve().name == "0.2.0"
        installed = [r for r in reports(hub, capsys) if r["event"] == "installed"]
        assert [(r["app"], r["version"], r["device_id"]) for r in installed] == [
            ("kiosk", "0.2.0", "K1")
        ]

        # A release that fails right after start: installed, fails, rolled back on a next start.
        publish(hub, tmp_path, key, "kiosk", "0.3.0", PACKAGES, {"kiosk/app.py": CRASH})
        at = kiosk.wait_for("kiosk running version 0.3.0", at)
        at = kiosk.wait_for("kiosk running version 0.2.0", at)
        at = kiosk.wait_for("kiosk screen: attract", at)
        assert kiosk.starts > 1, "the failing release ended the process; it was started again"
        assert "this release fails at start" in kiosk.text()
        assert (home / "app" / "current").resolve().name == "0.2.0"
        rolled = [r for r in reports(hub, capsys) if r["event"] == "rolled_back"]
        assert [(r["version"], r["reason"]) for r in rolled] == [("0.3.0", "crashed_after_start")]
        # The rolled-back release is not installed again while it stays on the channel.
        at = kiosk.wait_for("app update: skipped 0.3.0 previously_rolled_back", at)
        assert kiosk.text().count("kiosk running version 0.3.0") == kiosk.starts - 1
    finally:
        kiosk.stop()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


@pytest.mark.slow
@pytest.mark.display
def test_the_running_tablet_restarts_into_a_new_version_while_nobody_is_logged_in(
    hub: ThreadedHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from branch_hub.provision.enroll import enrolment_uri
    from tablet.device import DeviceStore
    from tablet.enrolment import enrol_device

    assert hub.hub is not None
    home = tmp_path / "tablet"
    code = hub.hub.security.codes.create("T1", "tablet")
    fingerprint = ca_fingerprint(hub.tls.ca.cert)
    uri = enrolment_uri(hub.url, fingerprint, code, "T1", "tablet")
    enrol_device(DeviceStore(home), hub.url, uri, fingerprint)
    key, pub = tmp_path / "release.key", home / "release.pub"  # IT places the public key
    write_key_pair("hq", key, pub)
    channel(hub, "trust", "--release-pubkey", str(pub))
    monkeypatch.delenv("DISPLAY", raising=False)
    xvfb = start_xvfb("1024x768x24")
    env = {
        **os.environ,
        "BRANCH_TABLET_HOME": str(home),
        "BRANCH_UPDATE_CHECK_S": "1",
        "PYTHONPATH": str(REPO),  # this checkout is the base install
        "KIVY_NO_ARGS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    tablet = Supervised([str(BIN / "branch-tablet"), "--size", "800x600"], env, tmp_path / "t.log")
    tablet.start()
    try:
        at = tablet.wait_for("tablet running version 0.1.0 (base install)", 0)
        publish(hub, tmp_path, key, "tablet", "0.2.0", ("branch_common", "branch_hub", "tablet"))
        # Nobody is logged in (the login screen): the tablet restarts as soon as it installed.
        at = tablet.wait_for("tablet running version 0.2.0", at)
        state = home / "app" / "state.json"
        deadline = time.monotonic() + 30
        while "unconfirmed" in json.loads(state.read_text()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "unconfirmed" not in json.loads(state.read_text()), "0.2.0 confirmed itself"
        assert tablet.starts == 1
        installed = [r for r in reports(hub, capsys) if r["app"] == "tablet"]
        assert [(r["event"], r["version"], r["device_id"]) for r in installed] == [
            ("installed", "0.2.0", "T1")
        ]
    finally:
        tablet.stop()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
