"""`branch-hub --config` starts a real HTTPS service and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests

from branch_hub.pki import CertifiedKey, issue_client_cert, load_pem_pair
from branch_hub.security.devices import DeviceRegistry


def _enrolled_device(data_dir: Path, device_id: str) -> tuple[str, str]:
    """Issue and register a tablet certificate the way enrolment does; return (cert, key)."""
    ca = load_pem_pair(data_dir / "pki" / "ca.crt", data_dir / "pki" / "ca.key")
    cert, key = issue_client_cert(ca, device_id, "tablet")
    assert key is not None
    registry = DeviceRegistry(data_dir / "security" / "devices.db")
    registry.register(device_id, "tablet", cert)
    registry.close()
    CertifiedKey(cert, key).save(data_dir / "dev.crt", data_dir / "dev.key")
    return str(data_dir / "dev.crt"), str(data_dir / "dev.key")


def test_hub_serves_https_and_stops_on_sigterm(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
    proc = subprocess.Popen(
        [script("branch-hub"), "--config", str(config), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("branch-hub: listening on https://127.0.0.1:"), line
        url = line.split()[-1]
        ca = tmp_path / "var" / "pki" / "ca.crt"
        anonymous = requests.get(f"{url}/api/v1/health", verify=str(ca), timeout=10)
        assert anonymous.status_code == 401  # only enrolled devices get past the door
        cert = _enrolled_device(tmp_path / "var", "TAB1")
        resp = requests.get(f"{url}/api/v1/health", verify=str(ca), cert=cert, timeout=10)
        assert resp.json()["status"] == "ok"
        assert resp.json()["branch_id"] == "BJ-CY-0105"
        assert oct(os.stat(tmp_path / "var" / "pki" / "hub.key").st_mode & 0o777) == "0o600"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_hub_reports_busy_port(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "hub.toml"
        config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
        done = subprocess.run(
            [script("branch-hub"), "--config", str(config), "--listen", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 1
    assert "cannot listen" in done.stderr
    assert "Traceback" not in done.stderr
