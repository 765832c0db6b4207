"""`branch-tablet`: start the tablet app."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-tablet."""
    parser = argparse.ArgumentParser(
        prog="branch-tablet",
        description="The staff app for tablets and counter PCs: live arrivals, customer briefs, calling, outcomes.",
    )
    parser.add_argument("--hub", metavar="URL", help="hub address (default: discover by mDNS)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run branch-tablet."""
    build_parser().parse_args(argv)
    print(
        "branch-tablet: error: the tablet app is not available in this version yet", file=sys.stderr
    )
    return 3


if __name__ == "__main__":
    sys.exit(main())
