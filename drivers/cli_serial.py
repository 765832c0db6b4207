"""Serial-device subcommands: read-id, decode samv, decode printer-status, print-test, sim idreader|printer."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from drivers.cli_output import emit, fail
from drivers.errors import DeviceError

__all__ = ["register"]


def register(sub: Any, decode: Any, sim: Any) -> None:
    """Add this module's subcommands to the drivers command line."""
    p = sub.add_parser("read-id", help="read a resident ID card from a SAM_V reader")
    p.add_argument(
        "--port",
        required=True,
        help="serial URL: /dev/ttyUSB0, serial:///dev/ttyS0?baud=115200, socket://host:port",
    )
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for a card (default 10)"
    )
    p.add_argument(
        "--fingerprint",
        action="store_true",
        help="use 30 10 (text+photo+fingerprint); only sizes are reported",
    )
    p.set_defaults(handler=_read_id)

    p = decode.add_parser("samv", help="decode a SAM_V frame given in hex")
    p.add_argument("hex", nargs="+", help="frame bytes in hex (spaces allowed)")
    p.set_defaults(handler=_decode_samv)

    p = decode.add_parser("printer-status", help="decode a DLE EOT n reply byte")
    p.add_argument("n", type=int, choices=(1, 2, 3, 4), help="DLE EOT function")
    p.add_argument("hex", help="the reply byte in hex, e.g. 12")
    p.set_defaults(handler=_decode_printer_status)

    p = sub.add_parser("print-test", help="print a sample queue ticket")
    p.add_argument("--port", required=True, help="serial URL, usb://VID:PID or tcp://HOST:PORT")
    p.add_argument("--status-timeout", type=float, default=1.0)
    p.set_defaults(handler=_print_test)

    p = sim.add_parser("idreader", help="run the SAM_V ID reader simulator on a pty")
    p.add_argument("--link", required=True, help="stable symlink path for the pty")
    p.add_argument("--control", help="unix socket path for runtime control (JSON lines)")
    p.add_argument(
        "--export", help="synthetic HQ export (JSON lines) with the customers (default: built-in)"
    )
    p.add_argument("--seed", type=int, default=1, help="seed for the made-up card details")
    p.add_argument(
        "--place", type=int, metavar="INDEX", help="place customer INDEX's card at start"
    )
    p.set_defaults(handler=_sim_idreader)

    p = sim.add_parser("printer", help="run the ESC/POS printer simulator on a pty")
    p.add_argument("--link", required=True, help="stable symlink path for the pty")
    p.add_argument("--out", required=True, help="folder for the rendered ticket PNGs")
    p.add_argument("--control", help="unix socket path for runtime control (JSON lines)")
    p.set_defaults(handler=_sim_printer)


def _hex(parts: list[str] | str) -> bytes:
    text = "".join(parts).replace(":", "").replace("-", "").replace(" ", "")
    if text.lower().startswith("0x"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise DeviceError(f"not hex: {exc}") from exc


def _read_id(args: argparse.Namespace) -> int:
    from drivers.idcard.reader import IdReader

    reader = IdReader(args.port, timeout=1.0, with_fingerprint=args.fingerprint)
    try:
        reader.open()
        result = reader.read_once(args.timeout)
    except DeviceError as exc:
        return fail(str(exc))
    finally:
        reader.close()
    emit(result.record.to_json())
    return 0


def decode_samv(frame: bytes) -> dict[str, Any]:
    """Describe a SAM_V frame; a successful read answer gives the read-id fields."""
    from drivers.idcard.codec import (
        SW3_TEXTS,
        FrameError,
        parse_command,
        parse_read_payload,
        parse_response,
        split_frame,
    )
    from drivers.idcard.text import decode_text_block

    body = split_frame(frame)
    if len(body) == 2:
        command = parse_command(frame)
        return {
            "frame": "command",
            "cmd": f"{command.cmd:02X}",
            "para": f"{command.para:02X}",
            "name": command.name,
            "length": len(frame),
        }
    answer = parse_response(frame)
    if answer.sw3 == 0x90 and len(answer.data) >= 4 + 256:
        for with_fp in (False, True):
            try:
                payload = parse_read_payload(answer.data, with_fp)
            except FrameError:
                continue
            return decode_text_block(payload.text).to_json()
    return {
        "frame": "response",
        "sw1": f"{answer.sw1:02X}",
        "sw2": f"{answer.sw2:02X}",
        "sw3": f"{answer.sw3:02X}",
        "status": SW3_TEXTS.get(answer.sw3, "unknown status"),
        "data_length": len(answer.data),
        "length": len(frame),
    }


def _decode_samv(args: argparse.Namespace) -> int:
    try:
        emit(decode_samv(_hex(args.hex)))
    except DeviceError as exc:
        return fail(str(exc))
    return 0


def _decode_printer_status(args: argparse.Namespace) -> int:
    from drivers.printer.status import decode_status

    try:
        data = _hex(args.hex)
        flags = decode_status(args.n, data)
    except DeviceError as exc:
        return fail(str(exc))
    emit({"function": args.n, "byte": data.hex().upper(), "flags": flags})
    return 0


def _print_test(args: argparse.Namespace) -> int:
    from drivers.printer.device import Printer
    from drivers.printer.ticket import sample_ticket

    printer = Printer(args.port, status_timeout=args.status_timeout)
    try:
        result = printer.print_ticket(sample_ticket())
    except DeviceError as exc:
        return fail(str(exc))
    finally:
        printer.close()
    if not result.printed:
        return fail(f"ticket not printed: {result.reason}")
    emit(result.to_json())
    return 0


def _serve(device: Any, control_path: str | None, info: dict[str, Any]) -> int:
    from drivers.sim.pty import ControlServer

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        device.start()
    except OSError as exc:
        return fail(f"cannot start the simulator: {exc}")
    server = ControlServer(control_path, device.handle_control) if control_path else None
    emit({**info, "link": device.path, "tty": device.pty.tty_name, "control": control_path})
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        if server is not None:
            server.close()
        device.stop()
    return 0


def _sim_idreader(args: argparse.Namespace) -> int:
    from drivers.sim.identity import IdentityError, identities_for
    from drivers.sim.idreader import IdReaderSim

    try:
        identities = identities_for(args.export)
    except IdentityError as exc:
        return fail(str(exc))
    device = IdReaderSim(args.link, identities, seed=args.seed)
    if args.place is not None:
        device.place(args.place)
    return _serve(device, args.control, {"simulator": "idreader"})


def _sim_printer(args: argparse.Namespace) -> int:
    from drivers.sim.printer import PrinterSim

    device = PrinterSim(args.link, args.out)
    return _serve(device, args.control, {"simulator": "printer", "out": args.out})
