"""The real printer stack against the pty printer simulator: tickets to PNG checked with zbarimg,
faults to events, unplug/replug, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from drivers.events import DeviceEvent, DeviceProblem, EventKind, Problem
from drivers.printer.device import Printer
from drivers.printer.ticket import TicketLayout
from drivers.sim.printer import PrinterSim

LAYOUT = TicketLayout(
    "示例银行朝阳支行", "B107", "对公业务", 6, 10, 20, datetime(2024, 5, 6, 14, 5), "TK-9f3a21c0"
)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PrinterSim]:
    device = PrinterSim(tmp_path / "ttyP", tmp_path / "out")
    device.start()
    yield device
    device.stop()


@pytest.fixture
def printer(sim: PrinterSim) -> Iterator[Printer]:
    p = Printer(sim.path, status_timeout=0.3)
    yield p
    p.close()


@pytest.mark.skipif(
    shutil.which("zbarimg") is None, reason="zbar-tools is installed by ./run bootstrap"
)
def test_ticket_png_carries_the_qr_token(sim: PrinterSim, printer: Printer) -> None:
    result = printer.print_ticket(LAYOUT)
    assert result.printed, result.reason
    assert sim.wait_tickets(1)
    ticket = sim.tickets[0]
    assert ticket.png is not None
    assert ticket.png.stat().st_size > 0
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(ticket.png)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == LAYOUT.token
    # The Chinese text decoded from the byte stream matches the layout.
    for line in LAYOUT.chinese_lines():
        assert line in ticket.lines
    assert "B107" in ticket.lines
    assert ticket.qr == [LAYOUT.token]
    assert sim.status_queries == 6  # DLE EOT 1, 2, 4 before and after


@pytest.mark.parametrize(
    ("fault", "event", "printed"),
    [
        ("near_end", EventKind.paper_low, True),
        ("paper_end", EventKind.paper_out, False),
        ("cover_open", EventKind.cover_open, False),
        ("offline", EventKind.printer_offline, False),
        ("error", EventKind.device_fault, False),
        ("mute", EventKind.printer_offline, False),
    ],
)
def test_fault_events(
    sim: PrinterSim, printer: Printer, fault: str, event: EventKind, printed: bool
) -> None:
    sim.set_fault(fault)
    result = printer.print_ticket(LAYOUT)
    assert result.printed is printed
    assert event in [e.kind for e in result.events]
    assert len(sim.tickets) == (1 if printed else 0)
    sim.clear_faults()
    again = printer.print_ticket(LAYOUT)
    assert again.printed
    assert [e.kind for e in again.events] == [EventKind.printer_ok]


def test_fault_during_printing_is_not_reported_printed(sim: PrinterSim, printer: Printer) -> None:
    original = sim.on_bytes

    def paper_runs_out(data: bytes) -> None:
        if b"\x1d\x56" in data:  # the cut arrives: the roll ends on this ticket
            sim.set_fault("paper_end")
        original(data)

    sim.on_bytes = paper_runs_out  # type: ignore[method-assign]
    result = printer.print_ticket(LAYOUT)
    assert not result.printed
    assert result.before is not None
    assert result.before.healthy
    assert result.after is not None
    assert result.after.paper_end
    assert EventKind.paper_out in [e.kind for e in result.events]


def test_unplug_replug_recovers(sim: PrinterSim, printer: Printer) -> None:
    assert printer.print_ticket(LAYOUT).printed
    sim.unplug()
    lost = printer.print_ticket(LAYOUT)
    assert not lost.printed
    assert [e.kind for e in lost.events] == [EventKind.device_fault]
    sim.replug()
    back = printer.print_ticket(LAYOUT)
    assert back.printed, back.reason
    assert EventKind.device_recovered in [e.kind for e in back.events]
    assert sim.wait_tickets(2)


def test_cli_print_test_and_status(sim: PrinterSim) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "drivers", "print-test", "--port", sim.path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["printed"] is True
    assert sim.wait_tickets(1)
    sim.set_fault("cover_open")
    done = subprocess.run(
        [sys.executable, "-m", "drivers", "print-test", "--port", sim.path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "cover_open" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "drivers", "decode", "printer-status", "2", "32"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(done.stdout)["flags"]["paper_end_stop"] is True


class _Collected:
    """Events from the printer's polling thread, waited for by kind."""

    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: DeviceEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, kind: EventKind, after: int = 0, timeout: float = 5.0) -> DeviceEvent:
        def found() -> DeviceEvent | None:
            return next((e for e in self.events[after:] if e.kind is kind), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None, timeout)
            event = found()
        assert event is not None, f"no {kind}; saw {[e.kind for e in self.events]}"
        return event


def test_polling_reports_paper_out_before_the_next_ticket(sim: PrinterSim) -> None:
    got = _Collected()
    printer = Printer(sim.path, status_timeout=0.3, interval=0.05, on_event=got)
    with printer:
        sim.set_fault("near_end")
        assert got.wait(EventKind.paper_low).payload == DeviceProblem(Problem.paper_low, "")
        sim.set_fault("paper_end")
        out = got.wait(EventKind.paper_out)
        assert isinstance(out.payload, DeviceProblem)
        assert out.payload.reason is Problem.paper_out
        sim.clear_faults()
        got.wait(EventKind.printer_ok, after=got.events.index(out))
        seen = len(got.events)
        sim.set_fault("cover_open")
        got.wait(EventKind.cover_open, after=seen)
        sim.clear_faults()
        got.wait(EventKind.printer_ok, after=seen)
        seen = len(got.events)
        sim.unplug()
        assert got.wait(EventKind.device_fault, after=seen).payload.reason is Problem.transport
        sim.replug()
        got.wait(EventKind.device_recovered, after=seen)
    assert not printer.running
    assert sim.tickets == []  # status polling never prints
    # Each state change is reported once, not on every poll.
    kinds = [e.kind for e in got.events]
    assert kinds.count(EventKind.paper_out) == 1
    assert kinds.count(EventKind.device_fault) == 1


def test_printer_state_table() -> None:
    from drivers.printer.status import PrinterState, PrinterStatus, printer_state

    assert printer_state(PrinterStatus()) is PrinterState.ready
    assert printer_state(PrinterStatus(paper_near_end=True)) is PrinterState.paper_low
    stopped = PrinterStatus(offline=True, paper_end=True, paper_near_end=True)
    assert printer_state(stopped) is PrinterState.paper_out
    assert printer_state(PrinterStatus(offline=True, cover_open=True)) is PrinterState.cover_open
    assert printer_state(PrinterStatus(offline=True)) is PrinterState.offline
    assert printer_state(PrinterStatus(offline=True, error=True)) is PrinterState.error
