"""The hub machine's package, installed as branch IT would: in a throwaway Debian 12 root (the
cached debootstrap of `./run`), docs/operations.md section 1 run as written, the hub started as its
unit's ExecStart as its unit's user, health over real TLS from outside with an enrolled device;
then an upgrade to the next version keeps the data and the hub starts again."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.debroot import ROOT, WHEELHOUSE, DebianRoot, debian_root, why_not_ready
from tests.support.devices import enrolled_device

GUIDE = ROOT / "docs" / "operations.md"
UNIT = ROOT / "packaging" / "systemd" / "branch-hub.service"
PIN = "864213"

pytestmark = pytest.mark.slow


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
        "apt",
        "branch-provision",
        "branch-hub",
        *("install", "sed", "chgrp", "chmod", "cp", "chown", "runuser"),
        *("systemctl", "systemctl", "journalctl", "curl"),
    ], commands
    assert commands[0].startswith("apt install ./branch-edge_")
    assert commands[1].startswith("branch-provision init ")
    assert commands[2].endswith(" --check")
    assert commands[10] == "systemctl enable --now branch-hub"


def build(version: str, out: Path) -> Path:
    """`./run package`'s last step: the .deb of this version from the cached wheelhouse."""
    argv = ["bash", str(ROOT / "packaging/deb/build-deb.sh"), "--version", version]
    done = subprocess.run(
        [*argv, str(WHEELHOUSE), str(out)], capture_output=True, text=True, timeout=300, check=True
    )
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The version the guide names, and the next one to upgrade to."""
    reason = why_not_ready()
    if reason and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the package install test: {reason}")
    if reason:
        pytest.skip(reason)
    named = re.search(r"branch-edge_([^_]+)_", section_one_commands()[0])
    assert named, "the guide names the package file"
    current = named.group(1)
    upstream, revision = current.rsplit("-", 1)
    out = tmp_path_factory.mktemp("debs")
    first = build(current, out)
    assert first.name == section_one_commands()[0].split("./", 1)[1], "the guide names this build"
    return first, build(f"{upstream}-{int(revision) + 1}", out)


def unit_exec_start() -> str:
    """The hub unit's ExecStart with its Environment, as one shell line."""
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    env = next(line.split("=", 1)[1] for line in lines if line.startswith("Environment="))
    return f"exec env {env} " + next(
        line.split("=", 1)[1] for line in lines if line.startswith("ExecStart=")
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_hub(root: DebianRoot) -> Iterator[str]:
    """The unit's ExecStart as the unit's user inside the root; yields the URL it listens on."""
    user = next(line[5:] for line in UNIT.read_text().splitlines() if line.startswith("User="))
    proc = subprocess.Popen(
        root.argv(unit_exec_start(), user=user),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on https://127.0.0.1:" in line, (line, proc.stderr and proc.stderr.read())
        yield line.split()[-1]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def health(root: DebianRoot, url: str, cert: tuple[str, str]) -> dict[str, object]:
    """GET /api/v1/health from outside the root, as an enrolled device, trusting the branch CA."""
    port = url.rsplit(":", 1)[1]
    answer = requests.get(
        f"https://localhost:{port}/api/v1/health",
        verify=str(root.path / "var/lib/branch-edge/pki/ca.crt"),
        cert=cert,
        timeout=10,
    )
    answer.raise_for_status()
    body: dict[str, object] = answer.json()
    return body


def snapshot(root: DebianRoot) -> dict[str, tuple[str, int]]:
    """Every file of the hub's data and configuration: its SHA-256 and owner."""
    out = {}
    for top in ("var/lib/branch-edge", "etc/branch-edge"):
        for path in sorted((root.path / top).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(root.path))] = (
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                    path.stat().st_uid,
                )
    return out


def provision(root: DebianRoot, deb: Path) -> tuple[str, tuple[str, str]]:
    """Section 1, steps 1 to 4, as written; returns init's CA fingerprint and a tablet's cert."""
    apt_install, init, check, *install = section_one_commands()[:11]
    shutil.copy(deb, root.path / "root")
    root.sh(apt_install)
    printed = root.sh(f"{init} --pin-stdin", stdin=PIN + "\n")
    fingerprint = re.search(r"CA fingerprint:\s+([0-9a-f]{64})", printed)
    assert fingerprint, printed
    assert "OK: branch B001" in root.sh(check)
    # Section 3 enrols devices; one tablet, enrolled before the folder is installed.
    tablet = enrolled_device(root.path / "root/branch-B001/var", "TAB1")
    enable = install.pop()
    assert enable.startswith("systemctl enable")
    for command in install:
        root.sh(command)
    return fingerprint.group(1), tablet


def as_hub(root: DebianRoot, command: str) -> str:
    return root.sh(command, user="branch-hub")


def test_package_installs_serves_and_upgrades_keeping_the_data(debs: tuple[Path, Path]) -> None:
    first, upgrade = debs
    with debian_root() as root:
        fingerprint, tablet = provision(root, first)
        assert not list(root.path.glob("etc/systemd/system/*.wants/branch-*")), "nothing enabled"
        stamp = root.path / "opt/branch-edge/venv/.branch-edge-wheels"
        made = stamp.stat().st_mtime_ns
        root.sh("/var/lib/dpkg/info/branch-edge.postinst configure")  # idempotent
        assert stamp.stat().st_mtime_ns == made, "the venv was rebuilt for the same wheels"
        config = root.path / "etc/branch-edge/hub.toml"
        text = config.read_text(encoding="utf-8")
        assert 'data_dir = "/var/lib/branch-edge"' in text
        assert f'ca_fingerprint = "{fingerprint}"' in text
        port = free_port()
        config.write_text(re.sub(r'(?m)^listen = ".*"$', f'listen = "127.0.0.1:{port}"', text))
        with running_hub(root) as url:
            assert health(root, url, tablet)["branch_id"] == "B001"
            curl = section_one_commands()[-1].replace(":8443", f":{port}")
            if shutil.which("curl"):
                argv = [w.replace("/var/lib/", f"{root.path}/var/lib/") for w in shlex.split(curl)]
                answer = subprocess.run(argv, capture_output=True, text=True, timeout=30)
                assert "device_not_enrolled" in answer.stdout, answer
        staff = as_hub(root, "branch-provision staff list --dir /etc/branch-edge")
        devices = as_hub(root, "branch-provision devices --dir /etc/branch-edge")
        assert "TAB1" in devices
        before = snapshot(root)
        assert any(path.endswith("audit.db") for path in before)
        shutil.copy(upgrade, root.path / "root")
        root.sh(f"apt install ./{upgrade.name}")
        assert root.sh("dpkg-query -W -f='${Version}' branch-edge") in upgrade.name
        assert snapshot(root) == before, "the upgrade changed the hub's data or configuration"
        assert as_hub(root, "branch-provision staff list --dir /etc/branch-edge") == staff
        assert as_hub(root, "branch-provision devices --dir /etc/branch-edge") == devices
        as_hub(root, "branch-provision audit verify --dir /etc/branch-edge")
        with running_hub(root) as url:
            assert health(root, url, tablet)["status"] == "ok"
