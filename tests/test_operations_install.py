"""docs/operations.md section 1, run as written: init, --check, install-hub.sh (into a temporary
root, with its test-only switches), the unit's ExecStart, and the guide's own checks; the
installed hub must serve the branch CA whose fingerprint init printed."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509

from branch_hub.pki import ca_fingerprint
from tests.support.devices import enrolled_device

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "operations.md"
UNIT = ROOT / "packaging" / "systemd" / "branch-hub.service"
PIN = "864213"


def section_one_commands() -> list[str]:
    """The shell commands in the guide's section 1, continuation lines joined, in order."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## 1. ") : text.index("## 2. ")]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        joined = re.sub(r"\\\n\s*", "", block)
        commands += [line.strip() for line in joined.splitlines() if line.strip()]
    return commands


def test_the_guide_shows_only_commands_this_test_runs() -> None:
    # systemctl and journalctl need a booted systemd: the test starts the unit's ExecStart.
    commands = section_one_commands()
    assert [c.split()[0] for c in commands] == [
        "branch-provision",
        "branch-hub",
        "packaging/scripts/install-hub.sh",
        "systemctl",
        "journalctl",
        "curl",
    ], commands
    assert commands[0].startswith("branch-provision init ")
    assert commands[1].endswith(" --check")


class Machine:
    """The branch machine in a temporary folder: / is `root`, the branch folder under it."""

    def __init__(self, tmp: Path, script: Callable[[str], str]) -> None:
        self.root = tmp / "root"
        self.script = script
        self.home = tmp / "home"
        self.home.mkdir()

    def path(self, text: str) -> str:
        """The guide's absolute paths, inside the temporary root."""
        for absolute in ("/root/", "/etc/branch-edge", "/var/lib/branch-edge"):
            text = text.replace(absolute, f"{self.root}{absolute}")
        return text.replace("/opt/branch-edge/venv/bin/branch-hub", self.script("branch-hub"))

    def run(self, command: str, *extra: str, stdin: str = "") -> str:
        """Run one of the guide's commands (programs from this environment); return stdout."""
        argv = [self.path(word) for word in shlex.split(command)]
        if argv[0] in ("branch-provision", "branch-hub"):
            argv[0] = self.script(argv[0])
        elif argv[0] == "packaging/scripts/install-hub.sh":
            argv = [
                "bash",
                argv[0],
                "--root",
                str(self.root),
                "--no-apt",
                "--no-systemd",
                *argv[1:],
            ]
        done = subprocess.run(
            [*argv, *extra],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
            env={**os.environ, "HOME": str(self.home)},
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return done.stdout


@pytest.fixture
def hub_unit(tmp_path: Path, script: Callable[[str], str]) -> Iterator[tuple[Machine, str, str]]:
    """Sections 1.1 to 1.3 done, and the hub started as its unit's ExecStart, on loopback."""
    machine = Machine(tmp_path, script)
    (machine.root / "root").mkdir(parents=True)
    init, check, install, *_ = section_one_commands()
    printed = machine.run(init, "--pin-stdin", stdin=PIN + "\n")
    fingerprint = re.search(r"CA fingerprint:\s+([0-9a-f]{64})", printed)
    assert fingerprint, printed
    assert "OK: branch B001" in machine.run(check)
    accounts = Path("/etc/passwd").read_bytes()
    machine.run(install)
    assert Path("/etc/passwd").read_bytes() == accounts  # the test switches change no account
    exec_start = next(
        line.split("=", 1)[1]
        for line in UNIT.read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    argv = [machine.path(word) for word in shlex.split(exec_start)]
    proc = subprocess.Popen(
        [*argv, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on https://127.0.0.1:" in line, (line, proc.stderr and proc.stderr.read())
        yield machine, fingerprint.group(1), line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_operations_section_one_gives_a_hub_serving_inits_ca(
    hub_unit: tuple[Machine, str, str],
) -> None:
    machine, printed, url = hub_unit
    port = url.rsplit(":", 1)[1]
    installed = machine.root / "var/lib/branch-edge"
    config = (machine.root / "etc/branch-edge/hub.toml").read_text(encoding="utf-8")
    assert f'data_dir = "{installed}"' in config
    assert f'ca_fingerprint = "{printed}"' in config
    # Over real TLS: the only trust anchor is the CA with init's fingerprint.
    ca_pem = (machine.root / "root/branch-B001/var/pki/ca.crt").read_bytes()
    assert ca_fingerprint(x509.load_pem_x509_certificate(ca_pem)) == printed
    context = ssl.create_default_context(cadata=ca_pem.decode())
    raw = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    curl = section_one_commands()[-1].replace(":8443", f":{port}")
    if shutil.which("curl"):
        assert "device_not_enrolled" in machine.run(curl)
    cert = enrolled_device(installed, "TAB1")
    health = requests.get(
        f"https://localhost:{port}/api/v1/health",
        verify=str(installed / "pki/ca.crt"),
        cert=cert,
        timeout=10,
    )
    assert health.json()["status"] == "ok"
    assert health.json()["branch_id"] == "B001"
