"""Outside systemd (umask 022) the branch folder is still owner-only: provision a branch, enrol a
tablet, run the hub and log in over TLS, then walk every folder and file it left."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.cli import make_private

PIN = "246810"


def _umask_022() -> None:
    os.umask(0o022)


def _run(argv: list[str], stdin: str = "") -> str:
    done = subprocess.run(
        argv,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        preexec_fn=_umask_022,  # the attack: a careless umask
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _not_private(folder: Path) -> list[str]:
    wrong = []
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        try:
            st = path.stat()
        except FileNotFoundError:  # a running hub's temporary file, renamed into place meanwhile
            continue
        mode = stat.S_IMODE(st.st_mode)
        want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        if mode != want:
            wrong.append(f"{path.relative_to(folder)}: {mode:o}")
    return wrong


def _enrol(url: str, ca: Path, code: str, folder: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TAB1")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    answer = requests.post(
        f"{url}/api/v1/enrol", json={"code": code, "csr": csr}, verify=str(ca), timeout=10
    )
    assert answer.status_code == 201, answer.text
    cert, key_path = folder / "tab1.crt", folder / "tab1.key"
    cert.write_text(answer.json()["certificate"])
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert), str(key_path)


def test_branch_folder_is_owner_only_under_umask_022(
    tmp_path: Path, script: Callable[[str], str]
) -> None:
    branch = tmp_path / "branch"
    provision = script("branch-provision")
    init = [provision, "init", "--dir", str(branch), "--branch-id", "SH-PD-0001"]
    _run(
        [*init, "--name", "示例", "--region-code", "310115", "--host", "hub1", "--pin-stdin"],
        PIN + "\n",
    )
    d = ["--dir", str(branch)]
    _run(
        [provision, "staff", "add", *d, "t1", "--name", "T", "--role", "teller", "--pin-stdin"],
        PIN + "\n",
    )
    enrolled = _run([provision, "enroll", *d, "--kind", "tablet", "--name", "TAB1"])
    code = enrolled.splitlines()[0].split()[-1]
    hub = subprocess.Popen(
        [script("branch-hub"), "--config", str(branch / "hub.toml"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_umask_022,
    )
    try:
        assert hub.stdout is not None
        line = hub.stdout.readline()
        assert "listening on" in line, line
        url = line.split()[-1]
        ca = branch / "var" / "pki" / "ca.crt"
        device = _enrol(url, ca, code, tmp_path)
        answer = requests.post(
            f"{url}/api/v1/login",
            json={"staff_id": "t1", "pin": PIN},
            verify=str(ca),
            cert=device,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert (branch / "var" / "hub.db-wal").exists()
        assert _not_private(branch) == []  # while it runs, WAL and shared memory included
    finally:
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=15)
    assert _not_private(branch) == []


def test_the_hub_closes_up_a_data_folder_left_open(tmp_path: Path) -> None:
    data = tmp_path / "var"
    (data / "cache").mkdir(parents=True, mode=0o755)
    (data / "hub.db").write_bytes(b"")
    (data / "cache" / "index.db").write_bytes(b"")
    for path in (data, data / "cache"):
        path.chmod(0o755)
    for path in (data / "hub.db", data / "cache" / "index.db"):
        path.chmod(0o644)
    make_private(data)
    assert _not_private(data) == []
