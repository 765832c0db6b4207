"""`branch-provision`: set up a branch and its devices (branch IT's one tool)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from branch_common.cli import add_version, run_command
from branch_hub.provision.common import ProvisionError

__all__ = ["SUBCOMMAND_MODULES", "main"]

# One module per subcommand group; each has `register(subparsers)` setting `func`.
# To add a group, append its module here.
SUBCOMMAND_MODULES = [
    "branch_hub.provision.init",
    "branch_hub.provision.enroll",
    "branch_hub.provision.devices",
    "branch_hub.provision.staff",
    "branch_hub.provision.certs",
    "branch_hub.provision.audit",
    "branch_hub.provision.release",
    "branch_hub.provision.channel",
    "branch_hub.provision.databases",
    "branch_hub.provision.backup",
    "branch_hub.provision.restore",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-provision."""
    parser = argparse.ArgumentParser(
        prog="branch-provision",
        description="Provision a branch: its CA and hub keys, enrolment codes for kiosks and "
        "tablets, staff accounts, audit log checks and release bundles.",
    )
    add_version(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run branch-provision; what it writes is owner-only (0600 files, 0700 folders)."""
    previous = os.umask(0o077)
    try:
        return _run(argv)
    finally:
        os.umask(previous)


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None or not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    return run_command("branch-provision", lambda: int(args.func(args)), (ProvisionError,))


if __name__ == "__main__":
    sys.exit(main())
