"""`branch-provision`: set up a branch and its devices (branch IT's one tool)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-provision."""
    parser = argparse.ArgumentParser(
        prog="branch-provision",
        description="Provision a branch: its CA and hub keys, enrolment codes for kiosks and "
        "tablets, staff accounts, audit log checks and release bundles.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from branch_hub.provision import channel, release

    release.register(sub)
    channel.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run branch-provision."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return 2
    if hasattr(args, "func"):
        return int(args.func(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
