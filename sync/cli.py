"""`branch-sync`: HQ data tools: synthetic export, keys, publish, pull, lookup, simulated confirm."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from branch_common.cli import CommandUsage, add_version, run_command
from branch_common.identifiers import IdentifierError, mask_name, mask_number
from sync.errors import SyncError
from sync.synth import SynthOptions, TierThreshold, write_export_file
from sync.synth_appointments import add_booking_options, booking_options

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


def _tier(value: str) -> TierThreshold:
    code, sep, aum = value.partition("=")
    if not sep or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", code) or not aum.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected CODE=MIN_AUM_CNY (e.g. wealth=500000), got {value!r}"
        )
    return TierThreshold(code, int(aum))


def _tiers(given: list[TierThreshold]) -> tuple[TierThreshold, ...]:
    """Check --tier values as a branch configuration would: distinct, the lowest at 0 CNY."""
    if len({t.code for t in given}) != len(given):
        raise CommandUsage("--tier: each tier code once")
    if len({t.min_aum_cny for t in given}) != len(given):
        raise CommandUsage("--tier: each threshold once")
    if min(t.min_aum_cny for t in given) != 0:
        raise CommandUsage("--tier: the lowest tier must start at 0")
    return tuple(given)


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
    add_version(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_synth, _add_keygen, _add_publish, _add_pull, _add_lookup):
        add(sub)
    from sync.collector_cli import add_commands as add_collector_commands

    add_collector_commands(sub)
    from sync.confirm import add_commands as add_confirm_command

    add_confirm_command(sub)
    from sync.publish_cli import add_commands as add_publish_all_command

    add_publish_all_command(sub)
    from sync.catalogue_cli import add_catalogue_commands

    add_catalogue_commands(sub)
    return parser


def _add_synth(sub: Any) -> None:
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
        "--tier",
        type=_tier,
        action="append",
        default=None,
        metavar="CODE=MIN_AUM",
        help="a tier and the lowest AUM (CNY) that earns it, as in the branch's [[tiers]]; repeat "
        "per tier (default mass=0 basic=50000 wealth=500000 private=6000000)",
    )
    synth.add_argument(
        "--catalogue",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="a catalogue source folder (`branch-sync catalogue synth --out`): each lead then names "
        "1-3 of its products on sale (product_codes)",
    )
    synth.add_argument("--workers", type=int, default=None, help="worker processes (default: CPUs)")
    add_booking_options(synth)


def _add_keygen(sub: Any) -> None:
    keygen = sub.add_parser(
        "keygen",
        help="make HQ's signing key pair and/or a hub's sync key pair",
        description="Write hq_signing.key/.pub (Ed25519) and/or hub_sync.key/.pub (X25519) into "
        "--out. Private keys are written 0600 and never overwritten.",
    )
    keygen.add_argument("--out", type=Path, required=True, help="folder for the key files")
    keygen.add_argument("--kind", choices=("hq", "hub", "both"), default="both")


def _add_publish(sub: Any) -> None:
    pub = sub.add_parser(
        "publish",
        help="publish a signed, encrypted snapshot (or delta) bundle for one branch",
        description="Seal HQ's export for one branch hub into static files under --out: "
        "chunks/<sha256>, manifests/<sha256>.json and latest.json. Format: docs/sync.md.",
    )
    pub.add_argument("--export", type=Path, required=True, help="HQ export (JSONL)")
    pub.add_argument("--branch-pubkey", type=Path, required=True, help="hub's sync public key")
    pub.add_argument("--signing-key", type=Path, required=True, help="HQ's Ed25519 signing key")
    pub.add_argument("--out", type=Path, required=True, help="the branch's publication folder")
    pub.add_argument(
        "--branch-id", default=None, help="branch id (default: the one already published in --out)"
    )
    pub.add_argument(
        "--previous", type=Path, default=None, help="the export of the last bundle: publish a delta"
    )
    pub.add_argument(
        "--key-id", default=None, help="key id for a snapshot; a new one rotates the branch keys"
    )
    pub.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        default="fail",
        help="a malformed export line fails the publish (default) or is skipped and reported",
    )
    pub.add_argument("--workers", type=int, default=None, help="worker processes (default 2)")


def _add_pull(sub: Any) -> None:
    pull = sub.add_parser(
        "pull",
        help="pull, verify and apply HQ's latest bundle into the branch cache",
        description="Fetch latest.json and manifests from --from, verify HQ's signatures, download "
        "chunks resumably, check their hashes and apply atomically into --cache.",
    )
    pull.add_argument("--from", dest="url", required=True, help="https:// (or file://) base URL")
    pull.add_argument("--cache", type=Path, required=True, help="the hub's cache folder")
    pull.add_argument("--ca-file", type=Path, default=None, help="HQ's CA certificate (pinned)")
    pull.add_argument("--hub-key", type=Path, default=None, help="default CACHE/hub_sync.key")
    pull.add_argument("--hq-pubkey", type=Path, default=None, help="default CACHE/hq_signing.pub")
    pull.add_argument(
        "--branch-id", default=None, help="this hub's branch id (default: the cache's)"
    )
    pull.add_argument("--retries", type=int, default=5, help="retries per download (default 5)")


def _add_lookup(sub: Any) -> None:
    lookup = sub.add_parser(
        "lookup",
        help="identify a customer in the cache and print the record masked",
        description="Look up one identifier in the encrypted cache; names and numbers are masked.",
    )
    lookup.add_argument("--cache", type=Path, required=True, help="the hub's cache folder")
    lookup.add_argument("--hub-key", type=Path, default=None, help="default CACHE/hub_sync.key")
    which = lookup.add_mutually_exclusive_group(required=True)
    which.add_argument("--pan", help="card number")
    which.add_argument("--id-number", help="resident ID number")
    which.add_argument("--passbook", help="passbook account number")


def _cmd_synth(args: argparse.Namespace) -> int:
    opts = SynthOptions(customers=args.customers, seed=args.seed, region_code=args.region_code)
    if args.as_of:
        opts = SynthOptions(**{**opts.__dict__, "as_of": args.as_of})
    if args.tier:
        opts = SynthOptions(**{**opts.__dict__, "tiers": _tiers(args.tier)})
    if args.catalogue:
        from sync.synth_products import read_catalogue_refs

        refs = read_catalogue_refs(args.catalogue)
        opts = SynthOptions(**{**opts.__dict__, "catalogue": refs})
    if args.appointments_on is not None:
        opts = SynthOptions(**{**opts.__dict__, **booking_options(args)})
    if not args.out.parent.is_dir():
        raise SyncError(f"output folder {args.out.parent} does not exist")
    n = write_export_file(opts, args.out, workers=args.workers)
    print(f"wrote {n} customers to {args.out}", file=sys.stderr)
    if opts.appointments_on is not None:
        from sync.synth_appointments import codes_path, write_codes

        codes = codes_path(args.out)
        booked = write_codes(args.out, opts.seed, codes)
        print(f"wrote {booked} appointment codes to {codes} (HQ's SMS side)", file=sys.stderr)
    return 0


def _cmd_keygen(args: argparse.Namespace) -> int:
    from sync.keys import write_key_pair

    args.out.mkdir(parents=True, exist_ok=True)
    kinds = ("hq", "hub") if args.kind == "both" else (args.kind,)
    for kind in kinds:
        stem = "hq_signing" if kind == "hq" else "hub_sync"
        fp = write_key_pair(kind, args.out / f"{stem}.key", args.out / f"{stem}.pub")
        print(
            f"wrote {args.out / stem}.key (0600) and .pub, fingerprint {fp[:16]}", file=sys.stderr
        )
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from sync.keys import load_hub_public, load_signing_private
    from sync.publisher import publish, read_pointer

    for given, path in (("--export", args.export), ("--previous", args.previous)):
        if path is not None and not path.is_file():  # before any folder is made under --out
            raise SyncError(f"{given} {path}: no such file")
    signing = load_signing_private(args.signing_key)
    branch_id = args.branch_id
    if branch_id is None:
        pointer = read_pointer(args.out, signing)
        if pointer is None:
            raise SyncError("--branch-id is required for a branch's first publish")
        branch_id = str(pointer["branch_id"])
    result = publish(
        args.export,
        load_hub_public(args.branch_pubkey),
        signing,
        args.out,
        branch_id,
        previous=args.previous,
        key_id=args.key_id,
        on_error=args.on_error,
        workers=args.workers,
    )
    for line, reason in result.skipped_lines[:100]:
        print(f"branch-sync: skipped export line {line}: {reason}", file=sys.stderr)
    if result.skipped:
        more = result.skipped - min(100, len(result.skipped_lines))
        tail = f" ({more} more not listed)" if more > 0 else ""
        print(f"branch-sync: skipped {result.skipped} malformed lines{tail}", file=sys.stderr)
    print(
        f"published {result.kind} {result.sequence} for branch {branch_id} (key {result.key_id}): "
        f"{result.records} records, {result.deletes} deletes, {result.chunks} chunks, "
        f"{result.bytes} bytes -> {result.manifest}",
        file=sys.stderr,
    )
    return 0


def _cmd_pull(args: argparse.Namespace) -> int:
    from sync.cache import cache_status
    from sync.keys import load_hub_private, load_signing_public
    from sync.puller import pull

    branch_id = args.branch_id
    if branch_id is None:
        status = cache_status(args.cache) if args.cache.exists() else None
        if status is None:
            raise SyncError("--branch-id is required for the first pull into a cache")
        branch_id = status.branch_id
    result = pull(
        args.url,
        args.cache,
        hq_public=load_signing_public(args.hq_pubkey or args.cache / "hq_signing.pub"),
        hub_key=load_hub_private(args.hub_key or args.cache / "hub_sync.key"),
        branch_id=branch_id,
        ca_file=args.ca_file,
        retries=args.retries,
    )
    status = result.status
    done = ", ".join(result.applied) if result.applied else "nothing new"
    seq = status.sequence if status else 0
    print(f"pull: {done}; cache at sequence {seq}", file=sys.stderr)
    return 0


def _masked(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer_id": record.get("customer_id"),
        "name": mask_name(record.get("name", "")),
        "gender": record.get("gender"),
        "tier": record.get("tier"),
        "id_number": mask_number(record.get("id_number", ""), 3, 2),
        "cards": [mask_number(c.get("pan", ""), 6, 4) for c in record.get("cards") or ()],
        "passbooks": [
            mask_number(b.get("account", ""), 4, 4) for b in record.get("passbooks") or ()
        ],
        "segments": record.get("segments"),
        "leads": len(record.get("leads") or ()),
        "relationship_manager": record.get("relationship_manager"),
    }


def _cmd_lookup(args: argparse.Namespace) -> int:
    import orjson

    from sync.cache import CustomerCache

    kind, value = next(
        (k, v)
        for k, v in (("pan", args.pan), ("id_number", args.id_number), ("passbook", args.passbook))
        if v is not None
    )
    with CustomerCache(args.cache, args.hub_key or args.cache / "hub_sync.key") as cache:
        customer = cache.identify(kind, value)
        if customer is None:
            print(
                f"no customer with this {kind} (cache sequence {cache.sequence})", file=sys.stderr
            )
            return 1
        print(orjson.dumps(_masked(customer.record), option=orjson.OPT_INDENT_2).decode())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run branch-sync."""
    args = build_parser().parse_args(argv)
    commands = {
        "synth": _cmd_synth,
        "keygen": _cmd_keygen,
        "publish": _cmd_publish,
        "pull": _cmd_pull,
        "lookup": _cmd_lookup,
    }
    if args.command not in commands:
        return run_command(
            "branch-sync", lambda: int(args.func(args)), (SyncError,), (IdentifierError,)
        )
    return run_command(
        "branch-sync", lambda: commands[args.command](args), (SyncError,), (IdentifierError,)
    )


if __name__ == "__main__":
    sys.exit(main())
