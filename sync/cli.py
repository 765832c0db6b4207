"""`branch-sync`: HQ data tools (synthetic export; publish, pull, lookup as they land)."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path

from branch_hub.config import ConfigError, load_config
from sync.synth import SynthOptions, TierThreshold, write_export_file

__all__ = ["main"]


def _region(value: str) -> str:
    if not re.fullmatch(r"[1-8]\d{5}", value):
        raise argparse.ArgumentTypeError(f"expected a 6-digit region code, got {value!r}")
    return value


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return n


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for branch-sync."""
    parser = argparse.ArgumentParser(
        prog="branch-sync",
        description="HQ-to-branch customer data: synthetic exports, bundles, pulls, lookups.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    synth = sub.add_parser(
        "synth",
        help="write a synthetic HQ customer export (JSONL)",
        description="Write HQ's customer export with synthetic people, deterministic for "
        "--seed and --as-of. Schema: docs/hq-interface.md.",
    )
    synth.add_argument("--customers", type=_positive, required=True, help="number of customers")
    synth.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    synth.add_argument("--out", type=Path, required=True, help="output JSONL file")
    synth.add_argument(
        "--region-code",
        type=_region,
        default="110105",
        help="the branch's 6-digit region code (default 110105)",
    )
    synth.add_argument(
        "--as-of",
        type=_day,
        default=None,
        help="reference date for ages, visits and lead expiry (default today)",
    )
    synth.add_argument(
        "--config",
        type=Path,
        default=None,
        help="branch TOML whose tier thresholds decide each customer's tier",
    )
    synth.add_argument("--workers", type=int, default=None, help="worker processes (default: CPUs)")
    return parser


def _cmd_synth(args: argparse.Namespace) -> int:
    opts = SynthOptions(customers=args.customers, seed=args.seed, region_code=args.region_code)
    if args.as_of:
        opts = SynthOptions(**{**opts.__dict__, "as_of": args.as_of})
    if args.config:
        config = load_config(args.config)
        tiers = tuple(TierThreshold(t.code, t.min_aum_cny) for t in config.tiers)
        opts = SynthOptions(**{**opts.__dict__, "tiers": tiers})
    if not args.out.parent.is_dir():
        raise SystemExit(f"branch-sync: error: output folder {args.out.parent} does not exist")
    n = write_export_file(opts, args.out, workers=args.workers)
    print(f"wrote {n} customers to {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run branch-sync."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "synth":
            return _cmd_synth(args)
    except ConfigError as exc:
        print(f"branch-sync: error: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
