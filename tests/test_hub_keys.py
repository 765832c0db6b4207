"""The hub starts only with the keys init provisioned: `--check` and the start name each problem
in one line (exit 1); `--dev` alone makes a throwaway CA; the certificate covers the names the
enrolment QR uses."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509

from branch_hub.discovery import advert_interfaces, lan_addresses
from branch_hub.identity import certificate_names
from branch_hub.pki import ca_fingerprint, issue_server_cert, make_ca
from branch_hub.provision.cli import main as provision
from tests.support.devices import enrolled_device

PIN = "864213"
NAMES = ["--host", "hub1", "--host", "hub.b001.bank.example", "--address", "10.1.2.3"]


def _provision(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return provision(argv)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("init") / "branch"
    argv = ["init", "--dir", str(folder), "--branch-id", "B001", "--name", "朝阳支行"]
    with pytest.MonkeyPatch.context() as patch:
        assert (
            _provision([*argv, "--region-code", "110105", *NAMES, "--pin-stdin"], patch, PIN + "\n")
            == 0
        )
    return folder


@pytest.fixture
def branch(made: Path, tmp_path: Path) -> Path:
    """A fresh copy of the provisioned branch folder."""
    return Path(shutil.copytree(made, tmp_path / "branch", symlinks=True))


def hub(
    script: Callable[[str], str], config: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script("branch-hub"), "--config", str(config), "--listen", "127.0.0.1:0", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "listening" not in done.stdout
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("branch-hub: error: ") for line in lines), lines
    return lines


def test_the_hub_refuses_to_start_without_provisioned_keys(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
    for extra in ((), ("--check",)):
        (line,) = error_lines(hub(script, config, *extra))
        assert f"{tmp_path / 'var' / 'pki' / 'ca.crt'} does not exist" in line
        assert "branch-provision init" in line
    assert not (tmp_path / "var" / "pki").exists()  # nothing was made silently


def test_dev_makes_a_development_ca_and_serves(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.Popen(
        [script("branch-hub"), "--config", str(config), "--listen", "127.0.0.1:0", "--dev"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening on https://127.0.0.1:" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.stderr is not None
    assert "--dev: created a development branch CA" in proc.stderr.read()
    assert hub(script, config, "--check").returncode == 0  # the dev keys are consistent


def test_check_passes_what_init_made_and_prints_the_fingerprint(
    script: Callable[[str], str], branch: Path
) -> None:
    done = hub(script, branch / "hub.toml", "--check")
    assert done.returncode == 0, done.stderr
    ca = x509.load_pem_x509_certificate((branch / "var/pki/ca.crt").read_bytes())
    assert f"CA fingerprint: {ca_fingerprint(ca)}" in done.stdout


def test_check_and_start_refuse_another_ca(script: Callable[[str], str], branch: Path) -> None:
    pki = branch / "var" / "pki"
    original = ca_fingerprint(x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes()))
    other = make_ca("B001")  # a swapped pki folder: a consistent chain, but not init's CA
    other.save(pki / "ca.crt", pki / "ca.key")
    issue_server_cert(other, "B001-hub", ["localhost"], ["127.0.0.1"]).save(
        pki / "hub.crt", pki / "hub.key"
    )
    for extra in (("--check",), ()):
        (line,) = error_lines(hub(script, branch / "hub.toml", *extra))
        assert "hub.ca_fingerprint" in line
        assert original in line
        assert ca_fingerprint(other.cert) in line


def test_check_refuses_a_hub_certificate_from_another_ca(
    script: Callable[[str], str], branch: Path
) -> None:
    pki = branch / "var" / "pki"
    issue_server_cert(make_ca("elsewhere"), "B001-hub", ["localhost"], ["127.0.0.1"]).save(
        pki / "hub.crt", pki / "hub.key"
    )
    (line,) = error_lines(hub(script, branch / "hub.toml", "--check"))
    assert f"{pki / 'hub.crt'} was not issued by the branch CA" in line


def test_check_refuses_a_key_that_is_not_the_certificates(
    script: Callable[[str], str], branch: Path
) -> None:
    pki = branch / "var" / "pki"
    (pki / "hub.key").write_bytes((pki / "ca.key").read_bytes())
    (line,) = error_lines(hub(script, branch / "hub.toml", "--check"))
    assert f"{pki / 'hub.key'} is not the key of {pki / 'hub.crt'}" in line


def test_check_names_an_enrolled_kiosk_the_config_lost(
    script: Callable[[str], str], branch: Path
) -> None:
    enrolled_device(branch / "var", "K9", "kiosk")
    (line,) = error_lines(hub(script, branch / "hub.toml", "--check"))
    assert "stations: kiosk K9 is enrolled but no [[stations]] entry has that id" in line


def test_check_counts_a_desk_and_a_desk_is_no_kiosk(
    script: Callable[[str], str], branch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk of docs/operations.md: `--check` passes and counts it; it takes no kiosk."""
    config = branch / "hub.toml"
    desk = '\n[[stations]]\nid = "D1"\nrole = "desk"\nid_reader = "sim://idreader"\n'
    config.write_text(config.read_text(encoding="utf-8") + desk, encoding="utf-8")
    done = hub(script, config, "--check")
    assert done.returncode == 0, done.stderr
    assert ", 1 desks" in done.stdout.splitlines()[0]
    enrol = ["enroll", "--dir", str(branch), "--kind", "kiosk", "--name", "D1"]
    assert _provision(enrol, monkeypatch) != 0
    enrolled_device(branch / "var", "D1", "kiosk")  # enrolled before the station became a desk
    (line,) = error_lines(hub(script, config, "--check"))
    assert "stations: kiosk D1 is enrolled but D1 is a desk, so the hub refuses it" in line


def test_the_certificate_carries_the_given_and_default_names(made: Path) -> None:
    cert = x509.load_pem_x509_certificate((made / "var/pki/hub.crt").read_bytes())
    assert certificate_names(cert) == {
        "hub1",
        "hub1.local",
        "hub.b001.bank.example",
        "localhost",
        "10.1.2.3",
        "127.0.0.1",
        "::1",
    }


def test_the_qr_hub_url_is_a_name_the_certificate_covers(
    branch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    qr = branch / "t.png"
    argv = ["enroll", "--dir", str(branch), "--kind", "tablet", "--name", "T1", "--qr", str(qr)]
    assert _provision(argv, monkeypatch) == 0
    read = ["zbarimg", "--quiet", "--raw", str(qr)]
    uri = subprocess.run(read, capture_output=True, text=True, check=True).stdout.strip()
    hub_url = parse_qs(urlsplit(uri).query)["hub"][0]
    cert = x509.load_pem_x509_certificate((branch / "var/pki/hub.crt").read_bytes())
    assert urlsplit(hub_url).hostname in certificate_names(cert)
    assert _provision([*argv, "--replace", "--hub-url", "https://elsewhere:8443"], monkeypatch) == 1


def test_rotation_takes_new_names_and_the_qr_follows(
    branch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "rotate-server-cert",
        "--dir",
        str(branch),
        "--host",
        "lobbyhub",
        "--address",
        "10.9.8.7",
    ]
    assert _provision(argv, monkeypatch) == 0
    cert = x509.load_pem_x509_certificate((branch / "var/pki/hub.crt").read_bytes())
    assert {"lobbyhub", "lobbyhub.local", "10.9.8.7", "127.0.0.1"} <= certificate_names(cert)
    assert "hub1" not in certificate_names(cert)
    enroll = ["enroll", "--dir", str(branch), "--kind", "tablet", "--name", "T2"]
    assert _provision([*enroll, "--qr", str(branch / "t2.png")], monkeypatch) == 0
    assert "hub: https://10.9.8.7:8443" in capsys.readouterr().out


def test_the_hub_advertises_where_devices_can_reach_it_and_never_on_loopback() -> None:
    assert advert_interfaces("127.0.0.1", []) == []
    assert advert_interfaces("::1", []) == []
    assert advert_interfaces("10.1.2.3", []) == ["10.1.2.3"]
    assert advert_interfaces("127.0.0.1", ["10.77.0.1"]) == ["10.77.0.1"]
    every = advert_interfaces("0.0.0.0", [])  # noqa: S104 - the address init writes
    assert every == lan_addresses()
    assert not [a for a in every if a.startswith("127.")]
