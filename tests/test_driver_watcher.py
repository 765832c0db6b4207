"""The drivers' shared parts: pure codecs, no sync/hub imports, typed events, the watcher life cycle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from branch_common.backoff import Backoff
from drivers.errors import DeviceTimeout, TransportError
from drivers.events import (
    PAYLOAD_TYPES,
    CardPresence,
    CardRead,
    DeviceEvent,
    DeviceProblem,
    EventKind,
    FailReason,
    Problem,
    ReadFailure,
)
from drivers.sim.identity import BUILT_IN, Identity, IdentityError, load_export
from drivers.watcher import DeviceState, DeviceWatcher

DRIVERS = Path(__file__).resolve().parents[1] / "drivers"
DEVICE_LIBRARIES = ("serial", "termios", "escpos", "smartcard", "PIL", "qrcode")
CODECS = (
    "drivers.idcard.codec",
    "drivers.idcard.text",
    "drivers.printer.status",
    "drivers.tlv",
    "drivers.magstripe.tracks",
    "drivers.emv.apdu",
    "drivers.events",
)


@pytest.mark.parametrize("module", CODECS)
def test_codec_imports_no_device_library(module: str) -> None:
    code = (
        f"import sys, json, {module}\n"
        f"print(json.dumps([n for n in {DEVICE_LIBRARIES!r} if n in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_drivers_import_neither_sync_nor_the_hub() -> None:
    for path in DRIVERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("sync", "branch_hub"), f"{path}: {name}"


def test_driver_functions_stay_short() -> None:
    for path in DRIVERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                assert length <= 60, f"{path}:{node.lineno} {node.name} is {length} lines"


def test_every_kind_has_one_payload_type() -> None:
    assert set(PAYLOAD_TYPES) == set(EventKind)
    event = DeviceEvent("K1", "magstripe", EventKind.card_read, CardRead("6222", "4912"))
    assert "6222" not in repr(event)
    with pytest.raises(TypeError):
        DeviceEvent("K1", "card_reader", EventKind.card_read, CardPresence("reader"))
    with pytest.raises(TypeError):
        DeviceEvent("K1", "idreader", EventKind.read_failed, {"reason": "timeout"})  # type: ignore[arg-type]


class _Flaky(DeviceWatcher):
    """A device whose link fails to open `failures` times, then serves rounds that may fail."""

    def __init__(self, failures: int, sink: list[DeviceEvent], **kw: float) -> None:
        super().__init__(
            sink.append,
            station="K1",
            device="flaky",
            interval=kw.get("interval", 0.0),
            backoff=Backoff(first=0.1, cap=0.2, jitter=0.0),
        )
        self.failures = failures
        self.opened = False
        self.attempts = 0
        self.block = threading.Event()
        self.step_error: Exception | None = None

    @property
    def is_open(self) -> bool:
        return self.opened

    def open_device(self) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise TransportError("link refused")
        self.opened = True

    def close_device(self) -> None:
        self.opened = False

    def step(self) -> None:
        if self.step_error is not None:
            raise self.step_error
        self.block.wait(10)


def test_fault_once_then_recovered_with_backoff() -> None:
    events: list[DeviceEvent] = []
    device = _Flaky(3, events)
    assert [e.kind for e in device.poll()] == [EventKind.device_fault]
    assert device.poll() == []  # the back-off has not elapsed yet: no reopen attempt
    assert device.attempts == 1
    deadline = time.monotonic() + 5
    device.block.set()
    while device.state is not DeviceState.ready and time.monotonic() < deadline:
        device.poll()
        time.sleep(0.01)
    assert device.attempts == 4
    assert [e.kind for e in events] == [EventKind.device_fault, EventKind.device_recovered]
    assert events[0].payload == DeviceProblem(Problem.transport, "link refused")


def test_step_failure_keeps_link_but_faults_once() -> None:
    events: list[DeviceEvent] = []
    device = _Flaky(0, events)
    device.block.set()
    device.poll()
    device.step_error = DeviceTimeout("no answer")
    device.poll()
    device.poll()
    assert device.is_open
    assert [e.kind for e in events] == [EventKind.device_fault]
    assert events[0].payload == DeviceProblem(Problem.timeout, "no answer")


def test_stop_is_bounded_even_when_a_round_hangs() -> None:
    device = _Flaky(0, [])
    device.start()
    time.sleep(0.05)
    started = time.monotonic()
    device.stop(timeout=0.2)  # step() is blocked: the join gives up, the caller goes on
    assert time.monotonic() - started < 2
    assert device.running
    device.block.set()
    assert device.join(5)
    assert not device.running
    assert device.state is DeviceState.stopped


def test_a_failing_sink_does_not_stop_the_device() -> None:
    calls: list[EventKind] = []

    def sink(event: DeviceEvent) -> None:
        calls.append(event.kind)
        raise RuntimeError("hub bug")

    device = _Flaky(1, [])
    device.on_event = sink
    device.block.set()
    with device:
        deadline = time.monotonic() + 5
        while EventKind.device_recovered not in calls and time.monotonic() < deadline:
            time.sleep(0.01)
    assert calls == [EventKind.device_fault, EventKind.device_recovered]


def test_read_failure_reasons_are_typed() -> None:
    from drivers.errors import SwipeError
    from drivers.magstripe.readers import swipe_failure

    failure = swipe_failure("magstripe", SwipeError(0x31, "reader status 31"))
    assert failure == ReadFailure("magstripe", FailReason.bad_swipe, "reader status 31", "31")


def test_identities_from_an_export(tmp_path: Path) -> None:
    from sync.synth import SynthOptions, generate

    export = tmp_path / "export.jsonl"
    customers = list(generate(SynthOptions(customers=5, seed=4)))
    export.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in customers))
    people = load_export(export)
    assert [p.id_number for p in people] == [c["id_number"] for c in customers]
    assert all(p.pan in {c["pan"] for c in customers[i]["cards"]} for i, p in enumerate(people))
    assert customers[0]["name"] not in repr(people[0])
    assert len(load_export(export, limit=2)) == 2
    bad = tmp_path / "bad.jsonl"
    for text in ("not json\n", "[1]\n", '{"name": "x"}\n', ""):
        bad.write_text(text)
        with pytest.raises(IdentityError):
            load_export(bad)
    with pytest.raises(IdentityError):
        load_export(tmp_path / "missing.jsonl")
    with pytest.raises(IdentityError):
        Identity("x", "110105199001011230", "M", "1990-01-01", "110105")  # wrong check char
    assert len({p.id_number for p in BUILT_IN}) == len(BUILT_IN)


def test_cli_sim_idreader_presents_the_export(tmp_path: Path) -> None:
    from drivers.sim.pty import control
    from sync.synth import SynthOptions, generate

    customers = list(generate(SynthOptions(customers=3, seed=9)))
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in customers))
    cmd = [sys.executable, "-m", "drivers", "sim", "idreader", "--link", str(tmp_path / "id")]
    proc = subprocess.Popen(
        [*cmd, "--control", str(tmp_path / "c"), "--export", str(export), "--place", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert control(tmp_path / "c", cmd="status")["card"] is True
        done = subprocess.run(
            [sys.executable, "-m", "drivers", "read-id", "--port", info["link"], "--timeout", "2"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["id_number"] == customers[2]["id_number"]
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    bad = subprocess.run(
        [*cmd, "--export", str(tmp_path / "missing.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("drivers: error: ")
