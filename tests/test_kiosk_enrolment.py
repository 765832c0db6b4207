"""The kiosk enrols itself: the unit's own command line, a real hub on loopback, a typed QR.

The unit test runs the ExecStart line of packaging/systemd/branch-kiosk.service with its
Environment (paths under /var/lib/branch-kiosk moved to a temp folder) on a private Xvfb, and
types the enrolment QR's text as a USB scanner would. No card reader is used.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from branch_hub.client.enrolment_code import EnrolmentError
from branch_hub.pki import ca_fingerprint, make_ca
from branch_hub.provision.enroll import enrolment_uri
from kiosk.enrolment import KioskFolder
from tests.support.chromium import shots_dir
from tests.support.hub_thread import ThreadedHub
from tests.support.kivy_harness import start_xvfb
from tests.support.tlsenv import make_tls_env
from tests.support.xkeys import type_text

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "packaging" / "systemd" / "branch-kiosk.service"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedHub]:
    root = tmp_path_factory.mktemp("hub")
    served = ThreadedHub(root / "data", make_tls_env(root / "pki")).start()
    yield served
    served.close()


def _uri(hub: ThreadedHub, fingerprint: str | None = None) -> str:
    assert hub.hub is not None
    code = hub.hub.security.codes.create("K1", "kiosk")
    fp = fingerprint or ca_fingerprint(hub.tls.ca.cert)
    return enrolment_uri(hub.url, fp, code, "K1", "kiosk")


def test_a_wrong_ca_pin_refuses_and_stores_nothing(hub: ThreadedHub, tmp_path: Path) -> None:
    folder = KioskFolder.under(tmp_path)
    other = ca_fingerprint(make_ca("ELSEWHERE").cert)
    with pytest.raises(EnrolmentError) as refused:
        folder.enrol(_uri(hub, other))
    assert "不是本网点的中心" in refused.value.bilingual
    assert not folder.enrolled
    assert not folder.tls.key.exists()


def test_enrolment_stores_the_files_the_updater_reads(hub: ThreadedHub, tmp_path: Path) -> None:
    folder = KioskFolder.under(tmp_path)
    assert folder.enrol(_uri(hub)) == "K1"
    assert folder.hub_url() == hub.url
    assert folder.pinned_fingerprint() == ca_fingerprint(hub.tls.ca.cert)
    assert (folder.tls.key.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in folder.root.iterdir()) == [
        "ca.crt",
        "device.crt",
        "device.key",
        "hub.url",
    ]


def _unit_command(home: Path) -> tuple[list[str], dict[str, str]]:
    """The unit's ExecStart and Environment, with its paths moved under `home`."""
    env: dict[str, str] = {}
    command: list[str] = []
    for line in UNIT.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            env.update(item.split("=", 1) for item in shlex.split(value))  # type: ignore[misc]
        elif key == "ExecStart":
            command = shlex.split(value)
    assert command == ["/opt/branch-edge/venv/bin/branch-kiosk"], "no arguments: its folder"
    command[0] = str(BIN / "branch-kiosk")
    env = {k: v.replace("/var/lib/branch-kiosk", str(home)) for k, v in env.items()}
    assert "PYTHONPATH" not in env, "the base install starts the installed version itself"
    env["PYTHONPATH"] = str(REPO)  # this checkout is the base install, not the installed one
    return command, env


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in log.read_text("utf-8", "replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in the kiosk's log:\n{log.read_text()[-3000:]}")


@pytest.mark.display
def test_the_unit_starts_on_enrolment_and_reaches_attract(
    hub: ThreadedHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    xvfb = start_xvfb("1920x1080x24")
    display = os.environ["DISPLAY"]
    command, unit_env = _unit_command(tmp_path / "var")
    env = {**os.environ, **unit_env, "DISPLAY": display}
    log = tmp_path / "kiosk.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(log, "kiosk screen: enrolment", proc, 60)
        time.sleep(1.0)  # the code field takes the focus
        type_text(display, _uri(hub) + "\n")
        _wait_for(log, "kiosk screen: attract", proc, 60)
        assert KioskFolder.under(tmp_path / "var").enrolled
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


@pytest.mark.display
def test_enrolment_screen_pictures(hub: ThreadedHub, tmp_path: Path) -> None:
    from tests.support.kivy_harness import shared_harness

    harness = shared_harness()
    from branch_hub.client.fonts import find_cjk_font
    from kiosk.app import use_font
    from kiosk.enrol_view import EnrolView

    use_font(find_cjk_font())
    out = shots_dir(tmp_path)
    enrolled: list[bool] = []
    view = EnrolView(KioskFolder.under(tmp_path / "var"), lambda: enrolled.append(True))
    harness.show(view, (1920, 1080))
    harness.frames(20)
    assert harness.screenshot(out / "kiosk-enrolment-empty.png").stat().st_size > 0
    other = ca_fingerprint(make_ca("ELSEWHERE").cert)
    view.ids.code.text = _uri(hub, other)
    view.submit()
    harness.until(lambda: view.refused, 20, "the refusal")
    assert "不是本网点的中心" in view.status
    assert "not your branch's hub" in view.status
    harness.screenshot(out / "kiosk-enrolment-refused.png")
    view.ids.code.text = _uri(hub)
    view.submit()
    harness.until(lambda: bool(enrolled), 20, "the enrolment")
    assert "K1" in view.status
    harness.screenshot(out / "kiosk-enrolment-done.png")
