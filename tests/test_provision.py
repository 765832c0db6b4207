"""`branch-provision`: init, staff, enroll (QR), devices, revoke, rotate, and a real hub using it."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branch_hub.catalogue_sync import CatalogueSettings
from branch_hub.checks import startup_problems
from branch_hub.config import load_config
from branch_hub.pki import ca_fingerprint, write_private_key
from branch_hub.provision.cli import main
from branch_hub.provision.common import Branch
from branch_hub.security.errors import LoginFailed
from branch_hub.security.staff import MAX_FAILURES
from sync.keys import write_key_pair
from sync.static_server import make_test_pki

PIN = "864213"


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


@pytest.fixture
def branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "br"
    argv = ["init", "--dir", str(folder), "--branch-id", "SH-PD-0001", "--name", "示例浦东支行"]
    argv += ["--region-code", "310115", "--host", "hub1", "--pin-stdin"]
    assert run(argv, monkeypatch, PIN + "\n") == 0
    return folder


def test_init_writes_a_valid_private_branch(branch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(branch / "hub.toml")
    assert config.branch.id == "SH-PD-0001"
    assert config.branch.name_zh == "示例浦东支行"
    var = branch / "var"
    for key in ("pki/ca.key", "pki/hub.key", "cache/hub_sync.key", "security/audit.key"):
        assert (var / key).stat().st_mode & 0o777 == 0o600, key
    hub = x509.load_pem_x509_certificate((var / "pki/hub.crt").read_bytes())
    sans = hub.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"hub1", "hub1.local", "localhost"} <= set(sans.get_values_for_type(x509.DNSName))
    before = (var / "pki/ca.key").read_bytes()
    argv = ["init", "--dir", str(branch), "--branch-id", "SH-PD-0001", "--name", "x"]
    argv += ["--region-code", "310115", "--pin-stdin"]
    assert run(argv, monkeypatch, PIN + "\n") == 1  # no overwrite without --force
    assert (var / "pki/ca.key").read_bytes() == before
    assert run([*argv, "--force"], monkeypatch, PIN + "\n") == 0
    assert (var / "pki/ca.key").read_bytes() != before


def test_init_leaves_hqs_urls_for_branch_it_and_check_takes_them(
    branch: Path, tmp_path: Path
) -> None:
    """operations.md section 1 step 3: IT fills `[hq]`; what --check verifies accepts it."""
    toml = branch / "hub.toml"
    text = toml.read_text(encoding="utf-8")
    hq = text[text.index("[hq]") :]
    assert 'bundle_url = ""' in hq
    assert 'catalogue_url = ""' in hq
    ca, _, _ = make_test_pki(tmp_path / "hq-pki")
    shutil.copy(ca, branch / "hq-ca.crt")
    write_key_pair("hq", tmp_path / "hq_signing.key", branch / "hq_signing.pub")
    filled = text.replace(
        'bundle_url = ""', 'bundle_url = "https://hq.example/branches/SH-PD-0001/"'
    ).replace(
        'catalogue_url = ""',
        'catalogue_url = "https://hq.example/catalogue/"\n'
        'ca_file = "hq-ca.crt"\nsigning_public_key = "hq_signing.pub"',
    )
    toml.write_text(filled, encoding="utf-8")
    config = load_config(toml)
    assert startup_problems(config, toml) == []
    pulls = CatalogueSettings.from_config(config, toml, branch / "var")
    assert pulls.url == "https://hq.example/catalogue/"
    assert pulls.hq_public == branch / "hq_signing.pub"
    assert pulls.ca_file == branch / "hq-ca.crt"
    # The catalogue is checked as the bundles are: https:// only, HQ's CA pinned.
    toml.write_text(filled.replace("https://hq.example/catalogue/", "http://hq.example/c/"))
    assert any("hq.catalogue_url" in p for p in startup_problems(load_config(toml), toml))


def test_init_refuses_weak_pin_and_bad_config_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["init", "--dir", str(tmp_path / "b"), "--branch-id", "B1", "--name", "n"]
    assert run([*base, "--region-code", "310115", "--pin-stdin"], monkeypatch, "1234\n") == 1
    assert run([*base, "--region-code", "999999", "--pin-stdin"], monkeypatch, PIN + "\n") == 1
    assert "region_code" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_staff_commands(
    branch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--dir", str(branch)]
    add = ["staff", "add", *d, "w7", "--name", "Wang", "--role", "wealth_manager", "--pin-stdin"]
    assert run(add, monkeypatch, "975310\n") == 0
    assert run(add, monkeypatch, "975310\n") == 1  # duplicate
    assert run(["staff", "disable", *d, "w7"], monkeypatch) == 0
    assert run(["staff", "disable", *d, "nobody"], monkeypatch) == 1
    capsys.readouterr()
    assert run(["staff", "list", *d], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "admin" in out
    assert "branch_admin" in out
    assert "w7" in out
    assert "disabled" in out


def test_staff_list_shows_a_locked_account_and_until_when(
    branch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--dir", str(branch)]
    add = ["staff", "add", *d, "t7", "--name", "Tao", "--role", "teller", "--pin-stdin"]
    assert run(add, monkeypatch, "975310\n") == 0
    security = Branch.load(branch).security()
    try:
        for guess in range(MAX_FAILURES):
            with pytest.raises(LoginFailed):
                security.staff.login("t7", f"{300000 + guess}")
        until = security.staff.get("t7").locked_until
    finally:
        security.close()
    capsys.readouterr()
    assert run(["staff", "list", *d], monkeypatch) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("t7 "))
    stamp = datetime.fromtimestamp(until).astimezone()
    assert f"locked until {stamp:%Y-%m-%d %H:%M}" in line
    assert "active" not in line
    assert run(["staff", "enable", *d, "t7"], monkeypatch) == 0  # enable lifts the lock
    capsys.readouterr()
    assert run(["staff", "list", *d], monkeypatch) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("t7 "))
    assert "active" in line


def _enrol_uri(branch: Path, kind: str, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    qr = branch / f"{name}.png"
    argv = ["enroll", "--dir", str(branch), "--kind", kind, "--name", name, "--qr", str(qr)]
    assert run(argv, monkeypatch) == 0
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(qr)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_enroll_qr_carries_code_hub_and_ca(branch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = _enrol_uri(branch, "kiosk", "K1", monkeypatch)
    parts = urlsplit(uri)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.scheme == "branchedge"
    ca = x509.load_pem_x509_certificate((branch / "var/pki/ca.crt").read_bytes())
    assert query["ca"] == ca_fingerprint(ca)
    assert query["hub"] == "https://hub1.local:8443"
    assert query["kind"] == "kiosk"
    assert query["id"] == "K1"
    assert len(query["code"]) == 19
    # A kiosk must be a configured station.
    argv = ["enroll", "--dir", str(branch), "--kind", "kiosk", "--name", "K9"]
    assert run(argv, monkeypatch) == 1


def test_rotate_server_cert(branch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (branch / "var/pki/hub.crt").read_bytes()
    assert run(["rotate-server-cert", "--dir", str(branch)], monkeypatch) == 0
    after = x509.load_pem_x509_certificate((branch / "var/pki/hub.crt").read_bytes())
    assert after.public_bytes(serialization.Encoding.PEM) != before
    ca = x509.load_pem_x509_certificate((branch / "var/pki/ca.crt").read_bytes())
    after.verify_directly_issued_by(ca)
    assert (branch / "var/pki/hub.key").stat().st_mode & 0o777 == 0o600


@pytest.fixture
def running_hub(branch: Path, script: Callable[[str], str]) -> Iterator[str]:
    proc = subprocess.Popen(
        [script("branch-hub"), "--config", str(branch / "hub.toml"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line + (proc.stderr.read() if proc.stderr else "")
        yield line.split()[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_enrol_login_and_revoke_against_a_running_hub(
    branch: Path, running_hub: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = running_hub
    uri = _enrol_uri(branch, "tablet", "TAB1", monkeypatch)
    code = parse_qs(urlsplit(uri).query)["code"][0]
    ca_path = branch / "var/pki/ca.crt"
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TAB1")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )

    async def flow() -> None:
        anonymous = ssl.create_default_context(cafile=str(ca_path))
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=anonymous)) as s,
            s.post(f"{url}/api/v1/enrol", json={"code": code, "csr": csr}) as r,
        ):
            assert r.status == 201, await r.text()
            issued = await r.json()
        (branch / "tab1.crt").write_text(issued["certificate"])
        write_private_key(
            branch / "tab1.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        device = ssl.create_default_context(cafile=str(ca_path))
        device.load_cert_chain(str(branch / "tab1.crt"), str(branch / "tab1.key"))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=device)) as s:
            async with s.post(f"{url}/api/v1/login", json={"staff_id": "admin", "pin": PIN}) as r:
                assert r.status == 200
                token = (await r.json())["token"]
            ws = await s.ws_connect(
                f"{url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}
            )
            assert (await ws.receive_json(timeout=5))["type"] == "live"
            # IT revokes the tablet from another process; the hub notices within a second.
            loop = asyncio.get_running_loop()
            code_rc = await loop.run_in_executor(
                None, main, ["revoke", "--dir", str(branch), "TAB1"]
            )
            assert code_rc == 0
            async with asyncio.timeout(5):
                msg = await ws.receive()
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=device)) as s,
            s.get(f"{url}/api/v1/health") as r,
        ):
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "device_revoked"

    asyncio.run(flow())
    assert run(["audit", "verify", "--dir", str(branch)], monkeypatch) == 0
    export = branch / "audit.jsonl"
    assert run(["audit", "export", "--dir", str(branch), "--out", str(export)], monkeypatch) == 0
    actions = [json.loads(line)["action"] for line in export.read_text().splitlines()]
    assert actions == [
        "config_change",
        "staff_change",
        "enrolment_code",
        "enrolment",
        "login",
        "revocation",
    ]
    assert os.stat(export).st_size > 0


def test_audit_verify_exits_1_on_a_tampered_log(
    branch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    db = sqlite3.connect(branch / "var/security/audit.db", isolation_level=None)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET staff_id = 'mallory' WHERE seq = 2")
    db.close()
    assert run(["audit", "verify", "--dir", str(branch)], monkeypatch) == 1
    assert "entry 2 was altered" in capsys.readouterr().err
    assert run(["audit", "export", "--dir", str(branch)], monkeypatch) == 1


def test_audit_export_selects_a_period_a_staff_member_or_a_device(
    branch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    security = Branch.load(branch).security()
    security.audit.record("login", device_id="T1", staff_id="s1")
    security.audit.record("login", device_id="T2", staff_id="s2")
    security.close()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()

    def exported(*extra: str) -> list[tuple[str, str | None, str | None]]:
        out = branch / "export.jsonl"
        argv = ["audit", "export", "--dir", str(branch), "--out", str(out), *extra]
        assert run(argv, monkeypatch) == 0
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        return [(r["action"], r["staff_id"], r["device_id"]) for r in rows]

    assert exported("--device", "T1") == [("login", "s1", "T1")]
    assert exported("--staff", "s2") == [("login", "s2", "T2")]
    everything = exported("--since", today.isoformat(), "--until", today.isoformat())
    assert ("login", "s1", "T1") in everything
    assert ("login", "s2", "T2") in everything
    assert exported("--since", (today + timedelta(days=1)).isoformat()) == []
    assert exported("--until", (today - timedelta(days=1)).isoformat()) == []
    security = Branch.load(branch).security()
    last = list(security.audit.entries())[-1]
    security.close()
    assert last.action == "export"
    assert last.detail["until"] == (today - timedelta(days=1)).isoformat()


def test_channel_changes_are_audited(branch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = ["--dir", str(branch)]
    assert run(["channel", "group", *d, "--device", "K2", "--group", "pilot"], monkeypatch) == 0
    assert (
        run(["channel", "assign", *d, "--group", "pilot", "--channel", "canary"], monkeypatch) == 0
    )
    assert run(["channel", "show", *d], monkeypatch) == 0
    security = Branch.load(branch).security()
    changes = [e for e in security.audit.entries() if e.subject == "appstore"]
    assert security.audit.verify() > 0
    security.close()
    assert [(e.action, e.detail) for e in changes] == [
        ("config_change", {"step": "channel_group", "device": "K2", "group": "pilot"}),
        ("config_change", {"step": "channel_assign", "channel": "canary", "group": "pilot"}),
    ]
