"""The hub speaks systemd's notify protocol and writes journal lines, as its Type=notify unit
expects: tested with a real notify socket and the real `branch-hub` process.
"""

from __future__ import annotations

import configparser
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from branch_common.systemd import JournalFormatter, notify, watchdog_interval_s
from tests.support.hubkit import provision

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(20)
    yield sock
    sock.close()


def _messages(sock: socket.socket, until: str, limit: int = 200) -> list[str]:
    got: list[str] = []
    for _ in range(limit):
        got += sock.recv(4096).decode().splitlines()
        if until in got:
            return got
    raise AssertionError(f"{until} never came: {got}")


def test_ready_watchdog_and_stopping_reach_systemd(
    script: Callable[[str], str],
    tmp_path: Path,
    sample_config_path: Path,
    notify_socket: socket.socket,
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(sample_config_path.read_text(encoding="utf-8"), encoding="utf-8")
    provision(tmp_path / "var")
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "400000",  # a ping at least every 0.2 s
    }
    proc = subprocess.Popen(
        [script("branch-hub"), "--config", str(config), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        ready = _messages(notify_socket, "READY=1")
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("branch-hub: listening on")  # before READY
        assert any(m.startswith("STATUS=serving branch BJ-CY-0105") for m in ready)
        started = time.monotonic()
        pings = 0
        while pings < 3:
            pings += _messages(notify_socket, "WATCHDOG=1").count("WATCHDOG=1")
        assert time.monotonic() - started < 15
        proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in _messages(notify_socket, "STOPPING=1")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_outside_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify("READY=1") is False
    assert watchdog_interval_s() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert watchdog_interval_s() is None


def test_journal_lines_carry_a_priority_and_no_second_timestamp() -> None:
    formatter = JournalFormatter("%(message)s")
    record = logging.LogRecord(
        "branch_hub.x", logging.WARNING, __file__, 1, "disk %s", ("low",), None
    )
    assert formatter.format(record) == "<4>branch_hub.x: disk low"
    boom = ValueError("boom")
    info = (ValueError, boom, None)
    exc = logging.LogRecord("h", logging.ERROR, __file__, 1, "failed", (), info)
    exc.exc_text = "Traceback (most recent call last):\n  File x\nValueError: boom"
    lines = formatter.format(exc).splitlines()
    assert lines[0] == "<3>h: failed"
    assert all(line.startswith("<3>") for line in lines)  # a traceback stays one entry's level


def test_the_hub_unit_is_type_notify_with_a_watchdog() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "packaging" / "systemd" / "branch-hub.service")
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"].endswith("s")
    assert int(service["LimitNOFILE"]) >= 65536
