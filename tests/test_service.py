"""`branch-hub --config` starts a real HTTPS service and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.devices import enrolled_device
from tests.support.hubkit import provision


def test_hub_serves_https_and_stops_on_sigterm(
    script: Callable[[str], str], tmp_path: Path, sample_config_path: Path
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
    provision(tmp_path / "var")
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
        cert = enrolled_device(tmp_path / "var", "TAB1")
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
        provision(tmp_path / "var")
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
