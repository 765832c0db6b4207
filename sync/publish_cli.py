"""`branch-sync publish-all`: publish every listed branch's bundle from one export, on Dask."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from sync.errors import SyncError

__all__ = ["add_commands"]


def _count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return int(value)


def _count_or_zero(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return int(value)


def add_commands(sub: Any) -> None:
    """Add `publish-all` to branch-sync."""
    job = sub.add_parser(
        "publish-all",
        help="publish every branch listed in --branches from one export (Dask distributed)",
        description="Read the bank-wide export once, give each branch the customers of its "
        "regions, and publish each branch's bundle into OUT/<branch-id>/ on a LocalCluster "
        "(default) or a running Dask scheduler. Progress goes to stderr. Format: docs/sync.md.",
    )
    job.add_argument("--export", type=Path, required=True, help="the bank-wide export (JSONL)")
    job.add_argument("--branches", type=Path, required=True, help="the branch list (TOML)")
    job.add_argument("--signing-key", type=Path, required=True, help="HQ's Ed25519 signing key")
    job.add_argument("--out", type=Path, required=True, help="root of the branch folders")
    job.add_argument(
        "--previous", type=Path, default=None, help="the last job's export: publish deltas"
    )
    job.add_argument("--scheduler", default=None, help="a running Dask scheduler (tcp://host:8786)")
    job.add_argument(
        "--workers",
        type=_count,
        default=None,
        help="LocalCluster worker processes (default: cores)",
    )
    job.add_argument("--threads-per-worker", type=_count, default=None, help="default 1")
    job.add_argument(
        "--retries", type=_count_or_zero, default=None, help="retries per task (default 2)"
    )
    job.add_argument(
        "--serial", action="store_true", help="no Dask: every branch in this process, in turn"
    )
    job.add_argument(
        "--staging",
        type=Path,
        default=None,
        help="folder for the plaintext sub-exports, outside --out (default: a private temporary "
        "folder; with --scheduler, one every worker shares)",
    )
    job.add_argument("--on-error", choices=("fail", "skip"), default="fail")
    job.set_defaults(func=_cmd_publish_all)


def _cmd_publish_all(args: argparse.Namespace) -> int:
    from sync.publish_job import PublishJob, run_job
    from sync.publish_plan import read_branches

    for given, path in (("--export", args.export), ("--previous", args.previous)):
        if path is not None and not path.is_file():
            raise SyncError(f"{given} {path}: no such file")
    if not args.signing_key.is_file():
        raise SyncError(f"--signing-key {args.signing_key}: no such file")
    branches, settings = read_branches(args.branches)
    for spec in branches:
        if not spec.hub_public_key.is_file():
            raise SyncError(f"branch {spec.branch_id}: hub key {spec.hub_public_key}: no such file")
    overrides = {
        "scheduler": args.scheduler,
        "workers": args.workers,
        "threads_per_worker": args.threads_per_worker,
        "retries": args.retries,
    }
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    job = PublishJob(
        export=args.export,
        branches=tuple(branches),
        signing_key=args.signing_key,
        out=args.out,
        previous=args.previous,
        on_error=args.on_error,
        staging=args.staging,
    )
    where = "this process" if args.serial else settings.scheduler or "a LocalCluster"
    print(f"publish-all: {len(branches)} branches on {where}", file=sys.stderr, flush=True)
    result = run_job(job, settings, serial=args.serial)
    for line, reason in result.skipped_lines[:100]:
        print(f"branch-sync: skipped export line {line}: {reason}", file=sys.stderr)
    if result.skipped:
        more = result.skipped - min(100, len(result.skipped_lines))
        tail = f" ({more} more not listed)" if more > 0 else ""
        print(
            f"branch-sync: skipped {result.skipped} lines without a region{tail}", file=sys.stderr
        )
    failed = result.failed
    print(
        f"publish-all: {len(result.outcomes) - len(failed)} of {len(result.outcomes)} branches "
        f"published, {result.records:,} records sealed, created {result.created}",
        file=sys.stderr,
    )
    if failed:
        names = ", ".join(o.branch_id for o in failed)
        raise SyncError(f"{len(failed)} branches failed: {names}")
    return 0
