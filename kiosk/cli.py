"""`branch-kiosk`: start the kiosk app."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-kiosk."""
    parser = argparse.ArgumentParser(
        prog="branch-kiosk",
        description="The customer's queue kiosk: a full-screen touchscreen app that talks only to the branch hub's API.",
    )
    parser.add_argument("--hub", metavar="URL", help="hub address (default: discover by mDNS)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run branch-kiosk."""
    build_parser().parse_args(argv)
    print(
        "branch-kiosk: error: the kiosk app is not available in this version yet", file=sys.stderr
    )
    return 3


if __name__ == "__main__":
    sys.exit(main())
