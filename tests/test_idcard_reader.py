"""The real ID reader stack against the pty simulator: polling, faults, unplug/replug, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.errors import DeviceTimeout
from drivers.events import CardPresence, DeviceEvent, EventKind
from drivers.idcard.reader import IdReader
from drivers.sim.idreader import IdReaderSim
from drivers.sim.pty import ControlServer, control
from tests.sim_identities import synthetic_people


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[IdReaderSim]:
    device = IdReaderSim(tmp_path / "ttyID", synthetic_people(20, seed=7), seed=7)
    device.start()
    yield device
    device.stop()


@pytest.fixture
def reader(sim: IdReaderSim) -> Iterator[IdReader]:
    r = IdReader(sim.path, timeout=0.4, poll_interval=0.02, reconnect_interval=0.0, retries=1)
    r.open()
    yield r
    r.close()


def kinds(events: list[DeviceEvent]) -> list[EventKind]:
    return [e.kind for e in events]


def test_one_id_read_per_placement(sim: IdReaderSim, reader: IdReader) -> None:
    assert reader.poll() == []
    placed = sim.place(2)
    events = reader.poll()
    assert kinds(events) == [EventKind.card_inserted, EventKind.id_read]
    assert isinstance(events[0].payload, CardPresence)
    payload = events[1].payload.to_json()
    for key in ("name", "gender", "birth", "id_number", "address", "authority"):
        assert payload[key] == placed[key]
    assert payload["kind"] == "resident_id"
    assert payload["photo_bytes"] == 1024
    assert "photo" not in payload
    assert all(reader.poll() == [] for _ in range(5))  # still on the reader: not reported again
    sim.remove()
    assert kinds(reader.poll()) == [EventKind.card_removed]
    sim.place(3)
    assert kinds(reader.poll()) == [EventKind.card_inserted, EventKind.id_read]


def test_fingerprint_read_reports_sizes_only(sim: IdReaderSim) -> None:
    sim.place(0)
    r = IdReader(sim.path, timeout=0.5, poll_interval=0.02, with_fingerprint=True)
    with r:
        result = r.read_once(1.0)
    assert result.fingerprint_bytes == 1024
    assert "fingerprint" not in result.record.to_json()


def test_garbage_and_slow_answers_still_read(sim: IdReaderSim, reader: IdReader) -> None:
    sim.set_fault("garbage")
    sim.set_fault("slow", 0.05)
    sim.place(1)
    assert kinds(reader.poll()) == [EventKind.card_inserted, EventKind.id_read]


def test_checksum_fault_then_recovery(sim: IdReaderSim, reader: IdReader) -> None:
    sim.set_fault("checksum")
    events = reader.poll()
    assert kinds(events) == [EventKind.device_fault]
    assert events[0].payload.reason == "checksum"
    assert reader.poll() == []  # reported once per episode
    sim.clear_faults()
    sim.place(0)
    assert kinds(reader.poll()) == [
        EventKind.device_recovered,
        EventKind.card_inserted,
        EventKind.id_read,
    ]


def test_no_card_fault_and_read_failure(sim: IdReaderSim, reader: IdReader) -> None:
    sim.place(0)
    sim.set_fault("no_card")
    assert reader.poll() == []
    sim.clear_faults()
    sim.set_fault("read_fail")
    events = reader.poll()
    assert kinds(events) == [EventKind.card_inserted, EventKind.read_failed]
    assert (events[1].payload.reason, events[1].payload.code) == ("card_error", "41")
    sim.clear_faults()
    assert reader.poll() == []  # must be re-placed after an error
    sim.remove()
    assert kinds(reader.poll()) == [EventKind.card_removed]
    sim.place(0)
    assert kinds(reader.poll()) == [EventKind.card_inserted, EventKind.id_read]


def test_mute_reader_times_out(sim: IdReaderSim, reader: IdReader) -> None:
    sim.set_fault("mute")
    events = reader.poll()
    assert kinds(events) == [EventKind.device_fault]
    assert events[0].payload.reason == "timeout"


def test_sam_fault_is_reset_at_open(sim: IdReaderSim) -> None:
    sim.set_fault("sam_fault")
    r = IdReader(sim.path, timeout=0.5)
    r.open()
    assert (0x10, 0xFF) in sim.commands
    assert not sim.faults.sam_fault
    r.close()


def test_unplug_replug_recovers(sim: IdReaderSim, reader: IdReader) -> None:
    sim.place(0)
    assert kinds(reader.poll()) == [EventKind.card_inserted, EventKind.id_read]
    sim.unplug()
    events = reader.poll()
    assert kinds(events) == [EventKind.device_fault]
    assert events[0].payload.reason == "transport"
    assert reader.poll() == []  # link still gone: no repeat
    sim.replug()
    sim.place(1)
    assert kinds(reader.poll()) == [
        EventKind.device_recovered,
        EventKind.card_inserted,
        EventKind.id_read,
    ]


def test_background_thread_and_control_socket(sim: IdReaderSim, tmp_path: Path) -> None:
    server = ControlServer(tmp_path / "ctl", sim.handle_control)
    got: list[DeviceEvent] = []
    r = IdReader(
        sim.path, timeout=0.4, poll_interval=0.02, reconnect_interval=0.02, on_event=got.append
    )
    try:
        r.start()
        assert control(tmp_path / "ctl", cmd="place", index=4)["ok"]
        deadline = time.monotonic() + 5
        while EventKind.id_read not in kinds(got) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert control(tmp_path / "ctl", cmd="unplug")["ok"]
        while EventKind.device_fault not in kinds(got) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert control(tmp_path / "ctl", cmd="replug")["ok"]
        while EventKind.device_recovered not in kinds(got) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert control(tmp_path / "ctl", cmd="bogus")["ok"] is False
    finally:
        r.stop()
        r.close()
        server.close()
    assert kinds(got)[:2] == [EventKind.card_inserted, EventKind.id_read]
    assert EventKind.device_recovered in kinds(got)


def test_read_once_timeout(sim: IdReaderSim, reader: IdReader) -> None:
    with pytest.raises(DeviceTimeout):
        reader.read_once(0.1)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "drivers", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_read_id_and_decode(sim: IdReaderSim) -> None:
    placed = sim.place(5, valid_to="long-term")
    done = run_cli("read-id", "--port", f"serial://{sim.path}?baud=115200", "--timeout", "2")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out) == [
        "kind",
        "name",
        "gender",
        "nation",
        "nation_name",
        "birth",
        "address",
        "id_number",
        "authority",
        "valid_from",
        "valid_to",
    ]
    assert out["id_number"] == placed["id_number"]
    assert out["valid_to"] == "long-term"
    sim.remove()
    done = run_cli("read-id", "--port", sim.path, "--timeout", "0.5")
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1
    assert "no card" in done.stderr


def test_cli_decode_samv() -> None:
    from drivers.fuzz_targets_serial import seed_read_response

    done = run_cli("decode", "samv", seed_read_response().hex())
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["kind"] == "resident_id"
    assert out["valid_to"] == "long-term"
    done = run_cli("decode", "samv", "AA AA AA 96 69 00 04 00 00 80 84")  # S4 find fail
    assert json.loads(done.stdout)["sw3"] == "80"
    done = run_cli("decode", "samv", "AA AA AA 96 69 00 03 20 01 22")  # S4 find card
    assert json.loads(done.stdout)["name"] == "find card"
    done = run_cli("decode", "samv", "AA AA AA 96 69 00 04 00 00 80 85")
    assert done.returncode == 2
    assert "checksum" in done.stderr
    assert "Traceback" not in done.stderr
    assert run_cli("decode", "samv", "zz").returncode == 2


def test_cli_sim_idreader(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drivers",
            "sim",
            "idreader",
            "--link",
            str(tmp_path / "id"),
            "--control",
            str(tmp_path / "c"),
            "--place",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["link"] == str(tmp_path / "id")
        done = run_cli("read-id", "--port", info["link"], "--timeout", "2")
        assert done.returncode == 0, done.stderr
        assert control(tmp_path / "c", cmd="status")["card"] is True
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_a_card_swapped_between_two_polls_is_read(sim: IdReaderSim, tmp_path: Path) -> None:
    """The next customer's card placed before a poll saw the reader empty is still read."""
    reader = IdReader(str(sim.path), poll_interval=0.0, recheck_s=0.05)
    with reader:
        first = sim.place(0)
        events = reader.poll()
        assert kinds(events) == [EventKind.card_inserted, EventKind.id_read]
        sim.remove()
        second = sim.place(1)
        assert second["id_number"] != first["id_number"]
        got: list[DeviceEvent] = []
        deadline = time.monotonic() + 5
        while EventKind.id_read not in kinds(got) and time.monotonic() < deadline:
            time.sleep(0.06)
            got += reader.poll()
        assert kinds(got) == [EventKind.card_inserted, EventKind.id_read]
        assert got[1].payload.to_json()["id_number"] == second["id_number"]
        time.sleep(0.06)
        assert reader.poll() == []  # the same card again: nothing new
