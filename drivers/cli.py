"""Command line of the drivers package: JSON on stdout, exit 0 on success, 2 with a message otherwise.

Subcommands are registered by the modules that own them:
- `drivers.cli_card`: read-card, decode tlv, decode track, sim card, sim magstripe
- `drivers.cli_serial`: read-id, decode samv, decode printer-status, print-test, sim idreader, sim printer
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from drivers.cli_output import emit, fail

__all__ = ["emit", "fail", "main"]

_OWNERS = ("drivers.cli_card", "drivers.cli_serial")


def build_parser() -> argparse.ArgumentParser:
    """Build the parser; each owner module adds its subcommands."""
    parser = argparse.ArgumentParser(prog="python -m drivers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    decode = sub.add_parser("decode", help="decode captured bytes or text").add_subparsers(
        dest="what", required=True, metavar="WHAT"
    )
    sim = sub.add_parser("sim", help="run a device simulator").add_subparsers(
        dest="device", required=True, metavar="DEVICE"
    )
    for owner in _OWNERS:
        try:
            module = importlib.import_module(owner)
        except ModuleNotFoundError as exc:
            if exc.name != owner:
                raise
            continue
        register: Callable[..., None] = module.register
        register(sub, decode, sim)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the drivers command line."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
