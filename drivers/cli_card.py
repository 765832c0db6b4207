"""Subcommands for bank cards and stripes: read-card, decode tlv|track, sim card|magstripe."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
import time
from typing import Any

from drivers.cli_output import emit, fail
from drivers.errors import DeviceError

__all__ = ["register"]


def register(sub: Any, decode: Any, sim: Any) -> None:
    """Add this module's subcommands to the drivers command line."""
    p = sub.add_parser("read-card", help="wait for a bank card in a PC/SC reader and read it")
    p.add_argument("--reader", help="use readers whose name contains NAME (default: any)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait (default 30)")
    p.set_defaults(handler=_read_card)

    p = decode.add_parser("tlv", help="decode BER-TLV hex into nested JSON")
    p.add_argument("hex", help="hex bytes (spaces allowed)")
    p.set_defaults(handler=_decode_tlv)

    p = decode.add_parser("track", help="decode magnetic stripe text (card or passbook)")
    p.add_argument("text", help="track text as a reader types it, e.g. ';6222...=4912120...?'")
    p.add_argument("--track", type=int, choices=(1, 2, 3), help="parse as this one track")
    p.set_defaults(handler=_decode_track)

    p = sim.add_parser("card", help="run a virtual EMV card in vpcd's reader")
    p.add_argument(
        "--profile",
        default="unionpay_debit",
        choices=("unionpay_debit", "contactless", "t0", "no_pse"),
    )
    p.add_argument(
        "--export",
        help="synthetic HQ export (JSON lines) to take the customer from (default: built-in)",
    )
    p.add_argument("--index", type=int, default=0, help="which customer with a card (default 0)")
    p.add_argument(
        "--port", type=int, default=35963, help="vpcd port (35963 = 'Virtual PCD 00 00')"
    )
    p.add_argument("--control-port", type=int, default=0, help="loopback control port (0: any)")
    p.add_argument("--fault", default="none", help="initial fault: none, pull, mute, wrong_sw")
    p.add_argument("--pcscd", action="store_true", help="also start pcscd (stopped on exit)")
    p.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0: never)")
    p.set_defaults(handler=_sim_card)

    p = sim.add_parser("magstripe", help="run a stripe reader on a pty (wedge or MSR206)")
    p.add_argument("--mode", default="wedge", choices=("wedge", "msr"))
    p.add_argument("--path", help="symlink path the reader side opens (default: a temp path)")
    p.add_argument("--control-port", type=int, default=0, help="loopback control port (0: any)")
    p.add_argument("--swipe", action="append", default=[], help="swipe this text after start")
    p.add_argument("--duration", type=float, default=0.0, help="stop after S seconds (0: never)")
    p.set_defaults(handler=_sim_magstripe)


def _read_card(args: argparse.Namespace) -> int:
    from drivers.pcsc import read_card, wait_for_card

    start = time.monotonic()
    try:
        reader = wait_for_card(args.reader, args.timeout)
        left = max(0.5, args.timeout - (time.monotonic() - start))
        result = read_card(reader, left)
    except DeviceError as exc:
        return fail(str(exc))
    emit(result.to_json())
    return 0


def _decode_tlv(args: argparse.Namespace) -> int:
    from drivers import tlv

    text = "".join(args.hex.split())
    try:
        data = bytes.fromhex(text)
    except ValueError:
        return fail("not hex: give pairs of hex digits, e.g. '6F0A8408...'")
    try:
        emit(tlv.to_json(tlv.parse(data)))
    except DeviceError as exc:
        return fail(str(exc))
    return 0


def _decode_track(args: argparse.Namespace) -> int:
    from drivers.magstripe import PassbookRead, classify_swipe, parse_track

    try:
        if args.track is not None:
            emit(parse_track(args.text, args.track).to_json())
            return 0
        got = classify_swipe(args.text)
    except DeviceError as exc:
        return fail(str(exc))
    if isinstance(got, PassbookRead):
        emit({"kind": "passbook", "account": got.account, "bank": got.bank, "track": got.track})
        return 0
    main = got.tracks.get(2) or got.tracks.get(1) or got.tracks[3]
    emit(
        {
            "kind": "bank_card_stripe",
            "pan": main.account,
            "expiry": main.expiry,
            "service_code": main.service_code,
            "chip": main.chip,
            "name": got.tracks[1].name if 1 in got.tracks else None,
            "tracks": [got.tracks[n].to_json() for n in sorted(got.tracks)],
        }
    )
    return 0


def _wait(duration: float) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait(duration if duration > 0 else None)


def _sim_card(args: argparse.Namespace) -> int:
    from drivers.sim.card import (
        CardIdentity,
        ControlServer,
        VirtualCard,
        VirtualCardDevice,
        profile,
    )
    from drivers.sim.identity import IdentityError, identities_for
    from drivers.sim.pcscd import PcscDaemon

    try:
        holders = [i for i in identities_for(args.export) if i.pan is not None]
        if not holders:
            return fail("no customer with a bank card in the export")
        identity = CardIdentity.of(holders[args.index % len(holders)])
    except IdentityError as exc:
        return fail(str(exc))
    daemon = PcscDaemon() if args.pcscd else None
    try:
        if daemon is not None:
            daemon.start()
        card = VirtualCard(profile(args.profile, identity))
        device = VirtualCardDevice(card, port=args.port)
        device.set_fault(args.fault)
        device.insert()
        control = ControlServer(device, args.control_port).start()
    except (DeviceError, ValueError, OSError) as exc:
        if daemon is not None:
            daemon.stop()
        return fail(str(exc))
    emit(
        {
            "sim": "card",
            "profile": args.profile,
            "vpcd_port": args.port,
            "control_port": control.port,
        }
    )
    try:
        _wait(args.duration)
    finally:
        control.close()
        device.remove()
        if daemon is not None:
            daemon.stop()
    return 0


def _sim_magstripe(args: argparse.Namespace) -> int:
    from pathlib import Path

    from drivers.sim.magstripe import MagstripeSimulator

    try:
        simulator = MagstripeSimulator(args.mode, Path(args.path) if args.path else None)
        server, port = simulator.serve_control(args.control_port)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    emit({"sim": "magstripe", "mode": args.mode, "path": str(simulator.path), "control_port": port})
    for text in args.swipe:
        time.sleep(0.2)
        simulator.swipe(text)
    try:
        _wait(args.duration)
    finally:
        server.close()
        simulator.close()
    return 0
