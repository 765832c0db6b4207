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
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run branch-provision."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help(sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
