"""The lobby TV enrolled like every device: its own certificate in Chromium, no relay.

`branch-display setup` enrols over the real `/api/v1/enrol` with a one-time code, imports the
certificate into the TV's NSS db and writes the Chromium policy; `branch-display launch` starts
Chromium (here headless, with a DevTools port) on the real hub on loopback.

Chromium on Linux reads managed policy only from the compiled-in /etc/chromium/policies/managed
(its `--policy=` switch is ignored in Debian's build: tried, the certificate was not selected),
so these tests write a uniquely named file there and remove it afterwards. The policy only
names this test hub's loopback origin, so other Chromium runs on the machine are unaffected.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from branch_hub.client.display import NICKNAME, TvHome, import_identity, policy_file
from branch_hub.client.display_cli import main
from branch_hub.pki import ca_fingerprint, issue_client_cert, write_private_key
from branch_hub.provision.cli import main as provision
from branch_hub.provision.enroll import enrolment_uri
from branch_hub.vocabulary import EventKind
from tests.support.chromium import chromium_path, shots_dir
from tests.support.devtools import LivePage
from tests.support.hub_thread import ThreadedHub
from tests.support.tlsenv import make_tls_env

POLICY_DIR = Path("/etc/chromium/policies/managed")
START = {"waiting": {"cash": 7, "account": 3, "wealth": 1, "loan": 0}, "wait_min": {}}
HEADLESS = [  # what the test adds to the TV's own command line
    "--headless",
    "--no-sandbox",  # the tests run as root; the TV's account is not
    "--disable-gpu",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1920,1080",
    "--hide-scrollbars",
]
_PLAYED = """(() => { const voice = document.getElementById('voice'); window.played = 0;
  voice.addEventListener('playing', () => { window.played += 1; }); return true; })()"""


def _may_write_policy() -> bool:
    folder = POLICY_DIR
    while not folder.exists():
        folder = folder.parent
    return os.access(folder, os.W_OK)


pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="chromium is installed by ./run bootstrap"),
    pytest.mark.skipif(shutil.which("certutil") is None, reason="./run installs libnss3-tools"),
    pytest.mark.skipif(
        not _may_write_policy(), reason="Chromium's managed policy folder needs root, as on the TV"
    ),
]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ThreadedHub]:
    tls = make_tls_env(tmp_path / "pki")
    served = ThreadedHub(tmp_path / "hub", tls).start()
    served.emit(EventKind.WAITING_CHANGED, START)
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def tv_name() -> Iterator[str]:
    name = f"TV-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        policy_file(POLICY_DIR, name).unlink(missing_ok=True)


def setup_tv(
    hub: ThreadedHub, home: Path, name: str, *, policy: bool = True, typed: bool = False
) -> None:
    """What branch IT runs: `branch-provision enroll --kind display` on the hub, then the setup
    on the TV's PC with the code, hub and fingerprint it printed (`typed`) or the QR's text."""
    assert hub.hub is not None
    code = hub.hub.security.codes.create(name, "display")
    fingerprint = ca_fingerprint(hub.tls.ca.cert)
    argv = ["setup", "--home", str(home)]
    if typed:
        argv += ["--code", code, "--hub", hub.url, "--fingerprint", fingerprint, "--name", name]
    else:
        argv += ["--enrol-uri", enrolment_uri(hub.url, fingerprint, code, name, "display")]
    if policy:
        argv += ["--policy-dir", str(POLICY_DIR)]
    assert main(argv) == 0


def tv(home: Path) -> LivePage:
    """`branch-display launch`, headless with a DevTools port."""
    launch = [sys.executable, "-m", "branch_hub.client.display_cli", "launch"]
    launch += ["--home", str(home), "--", *HEADLESS]
    return LivePage(f"{TvHome(home).hub_url()}/display", launch=launch, profile=home / "profile")


def call_at_counter(hub: ThreadedHub, counter: str) -> str:
    """A kiosk issues a walk-in ticket; a teller calls it through the counter API."""
    assert hub.hub is not None
    hub.call(hub.hub.lobby.issue_ticket("K1", "cash", None))
    crt, key = (str(p) for p in hub.tls.client("CTR-1", "counter"))
    token = hub.login("CTR-1")
    answer = requests.post(
        f"{hub.url}/api/v1/counters/{counter}/call-next",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        verify=str(hub.tls.ca_path),
        cert=(crt, key),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(hub.hub.stream.log.latest({"called"}, 1, limit=1)[0].data["ticket"])


def _wait_subscribed(hub: ThreadedHub) -> None:
    assert hub.hub is not None
    deadline = time.monotonic() + 15
    while hub.hub.stream.broadcaster.count < 1:  # the page's own WebSocket, with its certificate
        assert time.monotonic() < deadline, "the TV never opened its event stream"
        time.sleep(0.05)


def test_tv_enrols_and_shows_and_speaks_calls_with_its_own_certificate(
    hub: ThreadedHub, tv_name: str, tmp_path: Path
) -> None:
    home = tmp_path / "tv"
    setup_tv(hub, home, tv_name, typed=True)
    assert hub.hub is not None
    device = hub.hub.security.devices.get(tv_name)
    assert (device.kind, device.active) == ("display", True)
    listed = subprocess.run(
        ["certutil", "-L", "-d", f"sql:{home / '.pki/nssdb'}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert NICKNAME in listed  # the TV's identity
    assert "C,," in listed  # the branch CA, trusted for TLS servers only
    written = policy_file(POLICY_DIR, tv_name)
    assert written.stat().st_mode & 0o777 == 0o644  # Chromium reads it as the TV's user
    policy = json.loads(written.read_text(encoding="utf-8"))
    select = json.loads(policy["AutoSelectCertificateForUrls"][0])
    assert select == {"pattern": hub.url, "filter": {"ISSUER": {"CN": "Branch CA TEST-BR"}}}
    assert policy["AutoplayAllowlist"] == [hub.url]  # the hub's origin, nothing else
    with tv(home) as page:
        page.wait_for("document.querySelectorAll('#waiting .svc').length === 4")
        page.evaluate(_PLAYED)
        _wait_subscribed(hub)
        ticket = call_at_counter(hub, "C1")
        page.wait_for(f"document.getElementById('now-ticket').textContent === {ticket!r}")
        # The announcement plays without a click: the policy allows autoplay for the hub.
        page.wait_for("window.played > 0 && !document.getElementById('voice').paused")
        page.screenshot(shots_dir(tmp_path) / "display-enrolled.png")


def test_enrolling_again_replaces_the_tv_identity(
    hub: ThreadedHub, tv_name: str, tmp_path: Path
) -> None:
    home = tmp_path / "tv"
    setup_tv(hub, home, tv_name)
    first = TvHome(home).tls().cert.read_bytes()
    setup_tv(hub, home, tv_name)  # a replaced TV PC, or a renewal: one identity in NSS
    assert TvHome(home).tls().cert.read_bytes() != first
    db = f"sql:{home / '.pki/nssdb'}"
    listed = subprocess.run(["certutil", "-L", "-d", db], capture_output=True, text=True).stdout
    assert listed.count(NICKNAME) == 1
    pem = subprocess.run(
        ["certutil", "-L", "-d", db, "-n", NICKNAME, "-a"], capture_output=True, text=True
    ).stdout
    assert pem.strip() == TvHome(home).tls().cert.read_text().strip()


def test_tv_without_the_autoplay_policy_shows_the_sound_is_blocked(
    hub: ThreadedHub, tv_name: str, tmp_path: Path
) -> None:
    home = tmp_path / "tv"
    setup_tv(hub, home, tv_name)
    written = policy_file(POLICY_DIR, tv_name)
    policy = json.loads(written.read_text(encoding="utf-8"))
    del policy["AutoplayAllowlist"]
    written.write_text(json.dumps(policy), encoding="utf-8")
    with tv(home) as page:
        page.wait_for("document.querySelectorAll('#waiting .svc').length === 4")
        page.evaluate(_PLAYED)
        _wait_subscribed(hub)
        ticket = call_at_counter(hub, "C1")
        page.wait_for(f"document.getElementById('now-ticket').textContent === {ticket!r}")
        shown = page.wait_for("document.getElementById('status').dataset.sound")
        assert shown == "blocked"
        assert page.evaluate("window.played") == 0


def test_tv_without_its_certificate_is_refused(
    hub: ThreadedHub, tv_name: str, tmp_path: Path
) -> None:
    home = tmp_path / "tv"
    setup_tv(hub, home, tv_name)
    db = f"sql:{home / '.pki/nssdb'}"
    subprocess.run(["certutil", "-D", "-d", db, "-n", NICKNAME], check=True)
    with tv(home) as page:
        text = page.wait_for("document.body && document.body.innerText")
        assert "device_not_enrolled" in text  # the hub's 401: no client certificate
        assert page.evaluate("document.getElementById('now-ticket') === null")
    assert hub.hub is not None
    assert hub.hub.stream.broadcaster.count == 0


def test_tv_without_the_policy_never_shows_the_board(
    hub: ThreadedHub, tv_name: str, tmp_path: Path
) -> None:
    """Without the policy Chromium waits for a person to pick a certificate (headless: no one
    ever does), so the page never loads; a bounded look, as the policy case loads in ~1 s."""
    home = tmp_path / "tv"
    setup_tv(hub, home, tv_name, policy=False)
    assert not policy_file(POLICY_DIR, tv_name).exists()
    with tv(home) as page:
        time.sleep(5)
        assert page.evaluate("location.href") == "about:blank"
    assert hub.hub is not None
    assert hub.hub.stream.broadcaster.count == 0


def test_setup_refuses_a_hub_whose_ca_is_not_the_fingerprint(
    hub: ThreadedHub, tv_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hub.hub is not None
    code = hub.hub.security.codes.create(tv_name, "display")
    home = TvHome(tmp_path / "tv")
    argv = ["setup", "--home", str(home.root), "--code", code, "--hub", hub.url]
    argv += ["--fingerprint", "0" * 64, "--policy-dir", str(POLICY_DIR)]
    assert main(argv) == 1
    assert "does not match the fingerprint" in capsys.readouterr().err
    assert not home.tls().key.exists()
    assert not home.nssdb.exists()
    assert not policy_file(POLICY_DIR, tv_name).exists()


@pytest.fixture
def branch_hub_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: Callable[[str], str]
) -> Iterator[tuple[Path, str]]:
    """A branch made by `branch-provision init`, its hub running as `branch-hub`."""
    folder = tmp_path / "branch"
    argv = ["init", "--dir", str(folder), "--branch-id", "B001", "--name", "朝阳支行"]
    argv += ["--region-code", "110105", "--host", "hub1", "--pin-stdin"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("864213\n"))
    assert provision(argv) == 0
    command = [script("branch-hub"), "--config", str(folder / "hub.toml")]
    proc = subprocess.Popen(
        [*command, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line
        yield folder, line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_documented_commands_put_the_board_on_the_tv(
    branch_hub_process: tuple[Path, str],
    tv_name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/operations.md, "The lobby TV": enroll on the hub, then the command it prints."""
    folder, url = branch_hub_process
    enroll = ["enroll", "--dir", str(folder), "--kind", "display", "--name", tv_name]
    assert provision([*enroll, "--hub-url", url]) == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if "branch-display setup" in x)
    argv = shlex.split(line.split(":", 1)[1])
    assert argv[:2] == ["branch-display", "setup"]
    home = tmp_path / "tv"
    argv[argv.index("--home") + 1] = str(home)
    assert main(argv[1:]) == 0
    with tv(home) as page:
        shown = page.wait_for(
            "document.querySelectorAll('#waiting .svc').length > 0 && "
            "document.getElementById('branch-zh').textContent"
        )
        assert shown == "朝阳支行"


def test_launch_renews_a_certificate_in_its_last_days_and_reimports_it(
    hub: ThreadedHub, tv_name: str, tmp_path: Path
) -> None:
    assert hub.hub is not None
    cert, key = issue_client_cert(hub.tls.ca, tv_name, "display", days=10)
    assert key is not None
    hub.hub.security.devices.register(tv_name, "display", cert)
    home = TvHome(tmp_path / "tv")
    tls = home.tls()
    tls.cert.parent.mkdir(parents=True)
    tls.ca.write_bytes(hub.tls.ca_path.read_bytes())
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private_key(tls.key, pem)
    home.hub_file.write_text(hub.url)
    import_identity(home)
    launch = [sys.executable, "-m", "branch_hub.client.display_cli", "launch"]
    done = subprocess.run(
        [*launch, "--home", str(home.root), "--chromium", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # renewed, then became `true`
    renewed = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    assert renewed.serial_number != cert.serial_number
    assert renewed.not_valid_after_utc - datetime.now(UTC) > timedelta(days=300)
    shown = subprocess.run(
        ["certutil", "-L", "-d", f"sql:{home.nssdb}", "-n", NICKNAME, "-a"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.strip() == tls.cert.read_text().strip()  # Chromium presents the new one
