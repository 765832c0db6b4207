"""`branch-hub`: run or check the branch hub service."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from branch_common.cli import EXIT_FAILED, EXIT_USAGE, add_version, describe
from branch_common.systemd import configure_logging
from branch_hub.checks import checked_summary, startup_problems
from branch_hub.config import (
    BranchConfig,
    ConfigError,
    load_config,
    reference_markdown,
    resolve_data_dir,
    split_listen,
)
from branch_hub.diskreserve import MB, free_bytes

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-hub."""
    parser = argparse.ArgumentParser(
        prog="branch-hub",
        description="The branch hub: drives the kiosk's devices, recognises customers against the "
        "encrypted HQ cache, runs the queue and pushes briefs to staff tablets.",
    )
    parser.add_argument("--config", type=Path, help="branch configuration (hub.toml)")
    parser.add_argument(
        "--listen", metavar="HOST:PORT", help="override the config's listen address"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate the configuration and the hub's provisioned keys, then exit",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="development only: make a throwaway branch CA and certificate when the data folder "
        "has none (a real branch is provisioned with 'branch-provision init')",
    )
    parser.add_argument(
        "--config-reference",
        action="store_true",
        help="print the configuration reference (Markdown)",
    )
    add_version(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run branch-hub with a private umask (as the systemd unit's UMask=0077)."""
    previous = os.umask(0o077)
    try:
        return _run(argv)
    finally:
        os.umask(previous)


def make_private(folder: Path) -> None:
    """Make the data folder and all in it owner-only (0700 folders, 0600 files)."""
    if not folder.is_dir():
        return
    _chmod(folder, 0o700)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            _chmod(Path(root, name), 0o700)
        for name in files:
            _chmod(Path(root, name), 0o600)


def _chmod(path: Path, mode: int) -> None:
    if path.is_symlink():
        return
    try:
        path.chmod(mode)
    except OSError as exc:  # e.g. a file another user owns: the hub still starts
        logging.getLogger("branch_hub.cli").warning(
            "cannot make %s owner-only: %s", path, exc.strerror or exc
        )


def _warn_low_disk(config: BranchConfig, config_path: Path) -> None:
    """Say so when the data folder's disk is already under the reserve (the hub would start
    refusing reports and notes at once)."""
    folder = resolve_data_dir(config, config_path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = free_bytes(folder)
    reserve = config.hub.disk_reserve_mb * MB
    if free < reserve:
        print(
            f"branch-hub: warning: {folder} has {free // MB} MB free, under hub.disk_reserve_mb "
            f"= {config.hub.disk_reserve_mb}: the hub will refuse app reports and notes",
            file=sys.stderr,
        )


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config_reference:
        print(reference_markdown())
        return 0
    if args.config is None:
        parser.error("--config FILE is required")
    try:
        config = load_config(args.config)
        if args.listen:
            split_listen(args.listen)
    except ConfigError as exc:
        print(f"branch-hub: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:
        print(f"branch-hub: error: --listen: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.dev and not args.check:
        from branch_hub.service import ensure_dev_pki

        ensure_dev_pki(resolve_data_dir(config, args.config) / "pki", config.branch.id)
    # The same checks as --check, so a bad URL or key stops the hub here, not mid-start.
    problems = startup_problems(config, args.config)
    for problem in problems:
        print(f"branch-hub: error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_FAILED
    if args.check:
        print(checked_summary(config, args.config))
        _warn_low_disk(config, args.config)
        return 0
    configure_logging()  # journal lines under systemd, time-stamped lines elsewhere
    # A folder an older version (or another umask) left readable to all is closed at start.
    make_private(resolve_data_dir(config, args.config))
    # The service pulls in the whole HTTP stack; --check, --help and the reference do not need it.
    from branch_hub.service import serve

    try:
        asyncio.run(serve(config, args.config, args.listen))
    except OSError as exc:
        print(f"branch-hub: error: cannot listen: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
